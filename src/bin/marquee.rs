//! The `marquee` command: the local server, the demo, and tools for admins and designers.

fn main() -> std::process::ExitCode {
    marquee::cli::main()
}
