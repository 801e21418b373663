//! The command line.

pub fn main() -> i32 {
    eprintln!("netdrill: no command yet");
    2
}
