//! The script parser on any bytes: lexing, parsing, option lines, the
//! configuration and the plan (everything `netdrill check` and `--dry_run` do,
//! no network). Any input must give a script or a diagnostic, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netdrill_engine::config::kselftest_args;
use netdrill_engine::config::split_command_line;
use netdrill_engine::IpVersion;

fuzz_target!(|data: &[u8]| {
    // The kernel runner's command line, as `netdrill run` gives it.
    let (cli, _) = split_command_line(&kselftest_args(IpVersion::Ipv4)).expect("fixed arguments");
    if let Ok((script, _, _, _)) = netdrill_engine::run::prepare("fuzz.pkt", data, &cli) {
        // What parses prints back as a script.
        let _ = netdrill_engine::script::print(&script);
    }
});
