//! `kubectl-goosefs`: parse the command line, run, exit with the documented code.

fn main() -> std::process::ExitCode {
    kubectl_goosefs::cli::main()
}
