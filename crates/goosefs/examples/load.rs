//! Load generator for `bench/masters.py` (not shipped): `concurrency` clients, each on its own
//! connection pool, send metadata writes (`mkdir`) or reads (`stat`) to the leading master through
//! the runtime's own client for `seconds`, and the run prints one JSON line: operations, seconds,
//! operations per second, p50/p99/max latency in ms, failures.
//!
//! `GOOSEFS_HOSTS_FILE`, `GOOSEFS_CREDENTIAL_DIR` and `GOOSEFS_USER_JAVA_OPTS`/`GOOSEFS_JAVA_OPTS`
//! configure the client as for `goosefs fs`. Usage: `load write|read <concurrency> <seconds> <prefix>`.

use std::time::{Duration, Instant};

use goosefs::client::MasterClient;
use goosefs::config::ClientConfig;
use goosefs::proto::{FileInfo, Write, paths};
use goosefs_conf::{Conf, Role};

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(mode), Some(concurrency), Some(seconds), Some(prefix)) = (
        args.first().cloned(),
        args.get(1).and_then(|c| c.parse::<usize>().ok()),
        args.get(2).and_then(|s| s.parse::<f64>().ok()),
        args.get(3).cloned(),
    ) else {
        eprintln!("usage: load write|read <concurrency> <seconds> <prefix>");
        return std::process::ExitCode::from(2);
    };
    let env = |name: &str| std::env::var(name).ok();
    let conf = Conf::from_env(Role::Client, &env, &[]);
    let config = match ClientConfig::from_conf(&conf) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("load: {e}");
            return std::process::ExitCode::from(4);
        }
    };
    // As the `goosefs` CLI: the credential of GOOSEFS_CREDENTIAL_DIR, unless NOSASL.
    match goosefs::auth::Security::load(&conf, goosefs::auth::Process::Cli) {
        Ok(security) => goosefs::auth::install(security),
        Err(e) => {
            eprintln!("load: {e}");
            return std::process::ExitCode::from(5);
        }
    }
    let Ok(runtime) = tokio::runtime::Builder::new_multi_thread().enable_all().build() else {
        return std::process::ExitCode::from(1);
    };
    runtime.block_on(run(mode, concurrency, Duration::from_secs_f64(seconds), prefix, config));
    std::process::ExitCode::SUCCESS
}

async fn run(mode: String, concurrency: usize, length: Duration, prefix: String, config: ClientConfig) {
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..concurrency {
        let client = MasterClient::new(&config);
        let (mode, prefix) = (mode.clone(), prefix.clone());
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = 0u64;
            let mut i = 0u64;
            while start.elapsed() < length {
                let sent = Instant::now();
                let ok = if mode == "write" {
                    let command = Write::Mkdir {
                        path: format!("{prefix}/c{task}-{i}"),
                        recursive: true,
                        exist_ok: false,
                    };
                    client.call::<_, ()>(paths::WRITE, Some(&command)).await.is_ok()
                } else {
                    let path = format!("{}?path={prefix}", paths::STAT);
                    client.call::<(), FileInfo>(&path, None).await.is_ok()
                };
                latencies.push(sent.elapsed());
                failures += u64::from(!ok);
                i += 1;
            }
            (latencies, failures)
        });
    }
    let mut all = Vec::new();
    let mut failures = 0;
    while let Some(Ok((latencies, failed))) = tasks.join_next().await {
        all.extend(latencies);
        failures += failed;
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.sort_unstable();
    let at = |q: f64| {
        all.get(((all.len() as f64 * q) as usize).min(all.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "{{\"mode\":\"{mode}\",\"concurrency\":{concurrency},\"ops\":{},\"seconds\":{elapsed:.3},\"per_second\":{:.0},\"p50_ms\":{:.3},\"p99_ms\":{:.3},\"max_ms\":{:.3},\"failures\":{failures}}}",
        all.len(),
        all.len() as f64 / elapsed,
        at(0.5),
        at(0.99),
        at(1.0)
    );
}
