fn main() {
    // Invoked as `packetdrill`, or as `netdrill packetdrill ...`, netdrill is
    // packetdrill (see `netdrill::cli::packetdrill_argv`); else its own commands.
    std::process::exit(netdrill::cli::main());
}
