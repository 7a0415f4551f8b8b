//! `goosefs`: see the library's docs; exit codes in `cli`.

/// mimalloc, not glibc's malloc: a worker's fetch hands each network read (~400 KiB, hyper's
/// buffer) to its writer thread, so every read is a fresh allocation; glibc returned the freed
/// ones to the kernel, and a 2 GB cold read took 222,000 page faults in the worker for memory it
/// had just freed. mimalloc reuses it (a few hundred faults): cold reads went from 0.66 to 1.11
/// of `curl` in bench/data.py. `no_thp`: huge pages would make every thread's few touched bytes
/// cost 2 MiB of RSS (the FUSE process went from 10 to 79 MB with them).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    goosefs::cli::main()
}
