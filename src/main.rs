//! `kubectl-goosefs`: parse the command line, run, exit with the documented code.

/// The pipeline allocates many small trees and strings; with the system allocator, malloc and
/// free were a quarter of render's instructions.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    kubectl_goosefs::cli::main()
}
