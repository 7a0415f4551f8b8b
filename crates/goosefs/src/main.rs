//! `goosefs`: see the library's docs; exit codes in `cli`.

/// mimalloc, not glibc's malloc: a worker's fetch hands each network read (~400 KiB, hyper's
/// buffer) to its writer thread, so every read is a fresh allocation; glibc returned the freed
/// ones to the kernel, and a 2 GB cold read took 220,000-260,000 page faults in the worker for
/// memory it had just freed. mimalloc reuses it (3,000-17,000 faults): cold reads went from
/// 0.63-0.73 to 1.07 of `curl` (bench/data.py, interleaved runs). `no_thp`: huge pages would make
/// every thread's few touched bytes cost 2 MiB of RSS (the FUSE process went from 10 to 79 MB).
/// Short calls of this binary start 0.3 ms later for it.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    goosefs::cli::main()
}
