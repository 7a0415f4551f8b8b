//! Distributed loads through the job master, as Fluid's DataLoad runs them (`goosefs fs
//! distributedLoad <path>`): the client submits the path to a job master (on
//! `goosefs.job.master.rpc.port` of the master hosts, or `goosefs.job.master.rpc.addresses`),
//! which lists the files and, for each file, sends every block no worker holds yet to the job
//! worker beside the worker it belongs on (`goosefs.job.worker.rpc.port` on that worker's host,
//! as the worker pods run them); each job worker has its own worker cache the blocks, a few at a
//! time. The client polls the job and prints each file's line as it finishes. Job masters keep
//! no state beyond their jobs in memory: any of them takes a job, and a finished job is
//! forgotten after `goosefs.job.master.finished.job.retention.time`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};

use crate::client::{ClientError, MasterClient};
use crate::net::Http;
use crate::proto::{Answer, Refusal};
use crate::reader::{FileReader, Locality};

/// Paths of the job master's RPC port.
pub mod paths {
    /// `POST` a [`super::LoadRequest`]: the job id.
    pub const LOAD: &str = "/api/v1/job/load";
    /// `GET ?id=`: [`super::JobStatus`].
    pub const STATUS: &str = "/api/v1/job/status";
    /// Job worker RPC port, `POST` a [`super::LoadTask`]: `()` once every block is cached.
    pub const TASK: &str = "/api/v1/job/task";
}

/// Blocks of one file for one job worker to have its worker cache.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadTask {
    /// GooseFS path of the file.
    pub path: String,
    /// Block ids.
    pub blocks: Vec<u64>,
}

/// A load to run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadRequest {
    /// GooseFS path (a file or a directory).
    pub path: String,
}

/// Where a job is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobState {
    /// Listing or loading.
    Running,
    /// Every file was tried (see the counts).
    Completed,
    /// The path could not be listed.
    Failed(String),
}

/// A job's progress.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobStatus {
    /// State.
    pub state: JobState,
    /// Files found.
    pub total: usize,
    /// One line per finished file, in order of finishing.
    pub lines: Vec<String>,
    /// Files loaded.
    pub done: usize,
    /// Files that failed.
    pub failed: usize,
}

/// Blocks loaded at once by a job worker.
const BLOCKS_IN_FLIGHT: usize = 4;
/// How long a job worker may take over one file's blocks.
const TASK_TIMEOUT: Duration = Duration::from_secs(3600);

/// A job worker: has the worker on its host cache blocks (the worker pod runs both).
pub struct JobWorker {
    client: MasterClient,
    http: Http,
    locality: Locality,
    /// Blocks cached for tasks, for `/metrics`.
    pub loaded: AtomicU64,
}

impl JobWorker {
    /// A job worker beside the worker named `host` (`goosefs.worker.hostname`).
    pub fn new(client: MasterClient, host: Option<String>) -> Arc<JobWorker> {
        Arc::new(JobWorker {
            client,
            http: Http::default(),
            locality: Locality {
                host,
                dirs: Vec::new(),
                timeout: Duration::from_secs(300),
            },
            loaded: AtomicU64::new(0),
        })
    }

    async fn run(&self, task: &LoadTask) -> Result<(), String> {
        let reader = Arc::new(
            FileReader::open(&self.client, &self.http, &task.path, &self.locality)
                .await
                .map_err(|e| e.to_string())?,
        );
        let mut set = tokio::task::JoinSet::new();
        let mut first_error = None;
        let mut tally = |joined: Result<Result<(), crate::reader::ReadError>, tokio::task::JoinError>| match joined
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.to_string()))
        {
            Ok(()) => {
                self.loaded.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        };
        let wanted: std::collections::HashSet<u64> = task.blocks.iter().copied().collect();
        for block in reader.blocks().await.into_iter().filter(|b| wanted.contains(&b.id)) {
            if set.len() >= BLOCKS_IN_FLIGHT
                && let Some(joined) = set.join_next().await
            {
                tally(joined);
            }
            let reader = reader.clone();
            // This host's worker comes first among the candidates of a block nobody holds.
            set.spawn(async move { reader.load(&block).await });
        }
        while let Some(joined) = set.join_next().await {
            tally(joined);
        }
        first_error.map_or(Ok(()), Err)
    }
}

async fn task(State(jw): State<Arc<JobWorker>>, Json(t): Json<LoadTask>) -> Json<Answer<()>> {
    tracing::info!(path = %t.path, blocks = t.blocks.len(), "load task");
    Json(match jw.run(&t).await {
        Ok(()) => Answer::Ok(()),
        Err(e) => {
            tracing::warn!(path = %t.path, error = %e, "load task failed");
            Answer::Refused(Refusal::failed(e))
        }
    })
}

/// The job worker's RPC routes.
pub fn worker_routes(jw: Arc<JobWorker>) -> axum::Router {
    axum::Router::new()
        .route(paths::TASK, axum::routing::post(task))
        .with_state(jw)
}

/// The job worker's `/metrics` (Prometheus text).
pub fn worker_metrics(jw: &JobWorker) -> String {
    let mut e = crate::metrics::Exposition::new("job_worker");
    e.counter(
        "goosefs_job_worker_blocks_loaded_total",
        "Blocks this job worker loaded into its worker's cache.",
        jw.loaded.load(Ordering::Relaxed),
    );
    crate::auth::metrics(&mut e);
    e.finish()
}

/// A job master's jobs.
pub struct JobMaster {
    client: MasterClient,
    /// The job workers' RPC port (the same on every worker host).
    job_worker_port: u16,
    retention: Duration,
    jobs: Mutex<BTreeMap<u64, (JobStatus, Option<Instant>)>>,
    next: AtomicU64,
}

impl JobMaster {
    /// A job master using `client` to reach the masters.
    pub fn new(client: MasterClient, job_worker_port: u16, retention: Duration) -> Arc<JobMaster> {
        Arc::new(JobMaster {
            client,
            job_worker_port,
            retention,
            jobs: Mutex::default(),
            next: AtomicU64::new(1),
        })
    }

    fn update(&self, id: u64, f: impl FnOnce(&mut JobStatus)) {
        let mut jobs = self.jobs.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((status, finished)) = jobs.get_mut(&id) {
            f(status);
            if status.state != JobState::Running && finished.is_none() {
                *finished = Some(Instant::now());
            }
        }
    }

    async fn run(self: Arc<Self>, id: u64, path: String) {
        let files = match crate::fsdata::files_under(&self.client, &path).await {
            Ok(f) => f,
            Err(e) => return self.update(id, |s| s.state = JobState::Failed(e.to_string())),
        };
        self.update(id, |s| s.total = files.len());
        let http = Http::default();
        for file in files {
            let result = self.load_file(&http, &file.path).await;
            self.update(id, |s| match result {
                Ok(()) => {
                    s.done += 1;
                    s.lines.push(format!("Successfully loaded path {}", file.path));
                }
                Err(e) => {
                    s.failed += 1;
                    s.lines.push(format!("Failed to load path {}: {e}", file.path));
                }
            });
        }
        self.update(id, |s| s.state = JobState::Completed);
    }

    /// Has the job worker beside each block's worker cache the blocks of `path` no worker holds.
    async fn load_file(&self, http: &Http, path: &str) -> Result<(), String> {
        let reader = FileReader::open(&self.client, http, path, &Locality::default())
            .await
            .map_err(|e| e.to_string())?;
        let mut per_host: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        for (block, worker) in reader.missing().await {
            let worker = worker.ok_or("no live worker")?;
            per_host.entry(worker.host).or_default().push(block.id);
        }
        let mut set = tokio::task::JoinSet::new();
        for (host, blocks) in per_host {
            let (http, address) = (http.clone(), format!("{host}:{}", self.job_worker_port));
            let task = LoadTask {
                path: path.to_owned(),
                blocks,
            };
            set.spawn(async move {
                match http
                    .call::<_, Answer<()>>(&address, paths::TASK, Some(&task), TASK_TIMEOUT)
                    .await
                {
                    Ok(Answer::Ok(())) => Ok(()),
                    Ok(Answer::Refused(why)) => Err(format!("job worker {address}: {why}")),
                    Ok(Answer::NotLeader { .. }) => Err(format!("job worker {address}: unexpected answer")),
                    Err(e) => Err(format!("job worker {address}: {e}")),
                }
            });
        }
        let mut first_error = None;
        while let Some(joined) = set.join_next().await {
            if let Ok(Err(e)) = joined {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    fn forget_old(&self) {
        let retention = self.retention;
        self.jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, (_, finished)| finished.is_none_or(|at| at.elapsed() < retention));
    }
}

async fn submit(State(jm): State<Arc<JobMaster>>, Json(r): Json<LoadRequest>) -> Json<Answer<u64>> {
    jm.forget_old();
    let id = jm.next.fetch_add(1, Ordering::Relaxed);
    let status = JobStatus {
        state: JobState::Running,
        total: 0,
        lines: Vec::new(),
        done: 0,
        failed: 0,
    };
    jm.jobs
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(id, (status, None));
    tracing::info!(id, path = %r.path, "distributed load submitted");
    tokio::spawn(jm.clone().run(id, r.path));
    Json(Answer::Ok(id))
}

#[derive(Deserialize)]
struct IdQuery {
    id: u64,
}

async fn status(State(jm): State<Arc<JobMaster>>, Query(q): Query<IdQuery>) -> Json<Answer<JobStatus>> {
    jm.forget_old();
    let jobs = jm.jobs.lock().unwrap_or_else(PoisonError::into_inner);
    Json(jobs.get(&q.id).map_or_else(
        || {
            Answer::Refused(Refusal::not_found(format!(
                "no job {} (finished jobs are kept for the retention time)",
                q.id
            )))
        },
        |(s, _)| Answer::Ok(s.clone()),
    ))
}

/// The job master's RPC routes.
pub fn routes(jm: Arc<JobMaster>) -> axum::Router {
    axum::Router::new()
        .route(paths::LOAD, axum::routing::post(submit))
        .route(paths::STATUS, axum::routing::get(status))
        .with_state(jm)
}

/// `fs distributedLoad <path>`: submits the load to the first job master that takes it, prints
/// each file's line as the job reports it, and the totals.
///
/// # Errors
/// [`ClientError`]: no job master answered, the job failed, or files failed to load.
pub async fn distributed_load(job_masters: &[String], path: &str) -> Result<String, ClientError> {
    let http = Http::default();
    let limit = Duration::from_secs(15);
    let request = LoadRequest { path: path.to_owned() };
    let mut last = String::from("no job master address");
    let mut submitted = None;
    for address in job_masters {
        match http
            .call::<_, Answer<u64>>(address, paths::LOAD, Some(&request), limit)
            .await
        {
            Ok(Answer::Ok(id)) => {
                submitted = Some((address.clone(), id));
                break;
            }
            Ok(_) => last = format!("{address}: refused"),
            Err(e) => last = e.to_string(),
        }
    }
    let Some((address, id)) = submitted else {
        return Err(ClientError::NoJobMaster {
            tried: job_masters.join(", "),
            last,
        });
    };
    println!("Please wait for command submission to finish..");
    let mut printed = 0;
    loop {
        let status = match http
            .call::<(), Answer<JobStatus>>(&address, &format!("{}?id={id}", paths::STATUS), None, limit)
            .await
        {
            Ok(Answer::Ok(s)) => s,
            Ok(_) => {
                return Err(ClientError::Refused(Refusal::failed(format!(
                    "job {id} on {address} was lost"
                ))));
            }
            Err(e) => {
                return Err(ClientError::Refused(Refusal::failed(format!(
                    "job {id} on {address}: {e}"
                ))));
            }
        };
        let mut stdout = std::io::stdout().lock();
        for line in &status.lines[printed..] {
            let _ = writeln!(stdout, "{line}");
        }
        printed = status.lines.len();
        match status.state {
            JobState::Running => {}
            JobState::Failed(reason) => return Err(ClientError::Refused(Refusal::failed(reason))),
            JobState::Completed => {
                let mut out = String::new();
                let _ = writeln!(
                    out,
                    "Total completed file count is {}, failed file count is {}",
                    status.done, status.failed
                );
                if status.failed > 0 {
                    print!("{out}");
                    return Err(ClientError::Refused(Refusal::failed(format!(
                        "{} files failed to load",
                        status.failed
                    ))));
                }
                return Ok(out);
            }
        }
        drop(stdout);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}
