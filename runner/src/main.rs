fn main() {
    std::process::exit(netdrill::cli::main());
}
