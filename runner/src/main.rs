//! The `netdrill` binary: packetdrill's command line when invoked as
//! `packetdrill` (or `netdrill packetdrill`), netdrill's own otherwise (see
//! [`netdrill::cli`]).

use std::ffi::OsString;

fn main() {
    // Paths stay as the system gives them: a name that is not UTF-8 still
    // names its file.
    let argv: Vec<OsString> = std::env::args_os().collect();
    let text: Vec<String> = argv
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    // Invoked as `packetdrill` (a symlink or a copy under that name), or as
    // `netdrill packetdrill ...`: packetdrill's command line, which clap must not
    // parse, and which is text.
    if let Some(args) = netdrill::cli::packetdrill_argv(&text) {
        if let Some(bad) = argv.iter().find(|a| a.to_str().is_none()) {
            use std::os::unix::ffi::OsStrExt;
            eprintln!(
                "packetdrill: argument {} is not UTF-8: netdrill takes packetdrill's \
                 arguments as text (rename the script)",
                netdrill::escape::escape_bytes(bad.as_bytes())
            );
            std::process::exit(1);
        }
        std::process::exit(netdrill::packetdrill::packetdrill_main(args));
    }
    std::process::exit(netdrill::cli::main(argv));
}
