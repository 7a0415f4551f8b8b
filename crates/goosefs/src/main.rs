//! `goosefs`: see the library's docs; exit codes in `cli`.

fn main() -> std::process::ExitCode {
    goosefs::cli::main()
}
