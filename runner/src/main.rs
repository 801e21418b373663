//! The `netdrill` binary: packetdrill's command line when invoked as
//! `packetdrill` (or `netdrill packetdrill`), netdrill's own otherwise (see
//! [`netdrill::cli`]).

fn main() {
    let argv: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    // Invoked as `packetdrill` (a symlink or a copy under that name), or as
    // `netdrill packetdrill ...`: packetdrill's command line, which clap must not
    // parse.
    if let Some(args) = netdrill::cli::packetdrill_argv(&argv) {
        std::process::exit(netdrill::packetdrill::packetdrill_main(args));
    }
    std::process::exit(netdrill::cli::main(argv));
}
