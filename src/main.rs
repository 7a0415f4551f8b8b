//! `kubectl-goosefs`: parse the command line, run, exit with the documented code.

/// mimalloc: most of a short run is allocation (schemas, templates, YAML trees).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    kubectl_goosefs::cli::main()
}
