//! `goosefs master-only`: a master. It opens the journal, joins the Raft group of the masters in
//! `goosefs.master.embedded.journal.addresses` (or runs alone with the UFS journal), and serves
//! three ports: the embedded journal port (Raft, [`crate::master::raft`]), the RPC port (the client
//! protocol, [`crate::proto`]; only the leader serves, followers name it) and the web port
//! (`/health`, `/metrics`, `/api/v1/status`).

pub mod backup;
pub mod data;
pub mod declared;
pub mod journal;
pub mod membership;
pub mod namespace;
pub mod raft;
mod rpc;
pub mod status;
mod web;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use openraft::{BasicNode, ServerState, SnapshotPolicy};
use tokio::sync::Mutex;

use crate::auth::Port;
use crate::config::{JournalType, MasterConfig};
use crate::net::{self, Http};
use journal::{Journal, JournalError};
use raft::{Network, NodeId, Raft, RaftPort};

/// Why a master stops.
#[derive(Debug, thiserror::Error)]
pub enum MasterError {
    /// The journal cannot be used.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// A port cannot be bound.
    #[error(transparent)]
    Listen(std::io::Error),
    /// openraft refused its configuration or stopped.
    #[error("raft: {0}")]
    Raft(String),
    /// The system's random source failed.
    #[error("the system's random source failed (drawing the block grant key)")]
    Random,
}

/// A running master, shared by its servers and tasks.
pub struct Master {
    /// Settings.
    pub cfg: MasterConfig,
    /// Raft handle.
    pub raft: Raft,
    /// The journal (and the applied state).
    pub journal: Journal,
    /// Whether this master may vote (see [`membership`]).
    pub votes_allowed: Arc<AtomicBool>,
    /// Set on SIGTERM: writes are refused from then on.
    pub stepping_down: AtomicBool,
    /// Writes being committed now.
    pub in_flight: AtomicUsize,
    /// Process start.
    pub started: SystemTime,
    /// Client for peers.
    pub http: Http,
    /// One rejoin handled at a time.
    pub rejoining: Mutex<()>,
    /// Client writes waiting to be journaled together.
    pub writes: tokio::sync::mpsc::Sender<rpc::QueuedWrite>,
    /// UFS listings, workers and block locations (the leader's, not journaled).
    pub data: data::Data,
    /// What the declared mounts' last reconciliation found (the leader's).
    pub declared: std::sync::Mutex<declared::Outcome>,
    /// The key of the block grants this master issues while it leads (none with
    /// authentication off: see [`crate::grant`]).
    pub grants: Option<crate::grant::Grants>,
}

impl Master {
    /// The leader as this master knows it; none while this master leads without a valid lease.
    pub fn leader_id(&self) -> Option<NodeId> {
        let metrics = self.raft.metrics();
        let m = metrics.borrow();
        // A leader that has not heard from a quorum within the lease cannot know it still leads.
        if m.state == ServerState::Leader && !self.lease_valid(&m) {
            return None;
        }
        m.current_leader
    }

    /// Whether a leader heard from a quorum recently enough to serve reads from memory.
    fn lease_valid(&self, m: &openraft::RaftMetrics<NodeId, BasicNode>) -> bool {
        // Within the election timeout's min no other master can have been elected.
        self.cfg.members.len() == 1
            || m.millis_since_quorum_ack
                .is_some_and(|ms| ms < self.cfg.election_timeout.0)
    }

    /// The RPC address of master `id`.
    pub fn rpc_address_of(&self, id: NodeId) -> Option<String> {
        usize::try_from(id)
            .ok()
            .filter(|i| *i < self.cfg.members.len())
            .map(|i| self.cfg.rpc_address(i))
    }

    /// Every master's RPC address.
    pub fn rpc_addresses(&self) -> Vec<String> {
        (0..self.cfg.members.len()).map(|i| self.cfg.rpc_address(i)).collect()
    }

    /// `Ok` when this master leads and may serve a read from memory: within its lease, or after
    /// confirming leadership with a quorum.
    pub async fn ensure_leader_for_read(&self) -> Result<(), Option<String>> {
        let (leads, lease) = {
            let metrics = self.raft.metrics();
            let m = metrics.borrow();
            (m.state == ServerState::Leader, self.lease_valid(&m))
        };
        if leads && lease {
            return Ok(());
        }
        // A leader cut off from the others would wait for a quorum forever: give up after the
        // election timeout, by when the others may have elected someone else.
        let limit = Duration::from_millis(self.cfg.election_timeout.1);
        if leads
            && matches!(
                tokio::time::timeout(limit, self.raft.ensure_linearizable()).await,
                Ok(Ok(_))
            )
        {
            return Ok(());
        }
        Err(self
            .leader_id()
            .filter(|id| *id != self.cfg.id)
            .and_then(|id| self.rpc_address_of(id)))
    }
}

fn raft_config(cfg: &MasterConfig) -> Result<openraft::Config, MasterError> {
    openraft::Config {
        cluster_name: "goosefs".to_owned(),
        // Four heartbeats per election timeout: one lost packet does not start an election.
        heartbeat_interval: cfg.election_timeout.0 / 4,
        election_timeout_min: cfg.election_timeout.0,
        election_timeout_max: cfg.election_timeout.1,
        install_snapshot_timeout: 5000,
        // Bounded requests: snapshot chunks and appends fit the journal port's body limits.
        snapshot_max_chunk_size: raft::SNAPSHOT_CHUNK,
        max_payload_entries: raft::APPEND_ENTRIES,
        snapshot_policy: SnapshotPolicy::LogsSinceLast(cfg.snapshot_entries),
        // Keep at most one snapshot period of log behind a snapshot: a master further behind
        // gets the snapshot.
        max_in_snapshot_log_to_keep: cfg.snapshot_entries.min(1000),
        ..openraft::Config::default()
    }
    .validate()
    .map_err(|e| MasterError::Raft(e.to_string()))
}

/// Runs a master until SIGTERM or SIGINT.
///
/// # Errors
/// [`MasterError`] when it cannot start or its Raft stops.
pub async fn run(cfg: MasterConfig) -> Result<(), MasterError> {
    let journal = Journal::open(&cfg.journal_folder)?;
    let member = journal.meta(journal::MEMBER).ok().flatten().is_some();
    let network = Network::default();
    let raft = Raft::new(
        cfg.id,
        Arc::new(raft_config(&cfg)?),
        network,
        journal.clone(),
        journal.clone(),
    )
    .await
    .map_err(|e| MasterError::Raft(e.to_string()))?;
    let (writes, queued) = tokio::sync::mpsc::channel(4096);
    let master = Arc::new(Master {
        writes,
        votes_allowed: Arc::new(AtomicBool::new(member)),
        raft,
        journal,
        stepping_down: AtomicBool::new(false),
        in_flight: AtomicUsize::new(0),
        started: SystemTime::now(),
        http: Http::default(),
        rejoining: Mutex::new(()),
        data: data::Data::new(cfg.ufs.clone(), cfg.metadata_sync, cfg.worker_timeout),
        declared: std::sync::Mutex::default(),
        grants: if crate::auth::current().enabled() {
            Some(crate::grant::Grants::generate().map_err(|_| MasterError::Random)?)
        } else {
            None
        },
        cfg,
    });
    tracing::info!(
        id = master.cfg.id,
        hostname = %master.cfg.hostname,
        journal = %master.cfg.journal_folder.display(),
        members = master.cfg.members.len(),
        "master starting"
    );

    let bind = master.cfg.bind_host.clone();
    let rpc = net::listen(&bind, master.cfg.rpc_port, "goosefs.master.rpc.port")
        .await
        .map_err(MasterError::Listen)?;
    let web = net::listen(&bind, master.cfg.web_port, "goosefs.master.web.port")
        .await
        .map_err(MasterError::Listen)?;
    let mut servers = tokio::task::JoinSet::new();
    if master.cfg.journal_type == JournalType::Embedded {
        let journal_port = net::listen(&bind, master.cfg.journal_port, "goosefs.master.embedded.journal.port")
            .await
            .map_err(MasterError::Listen)?;
        let state_of = {
            let master = master.clone();
            Arc::new(move || {
                let metrics = master.raft.metrics();
                let m = metrics.borrow();
                raft::PeerState {
                    established: m.last_log_index.is_some_and(|i| i >= 1) || m.snapshot.is_some(),
                    member: master.votes_allowed.load(Ordering::SeqCst),
                }
            })
        };
        let routes = raft::routes(RaftPort {
            raft: master.raft.clone(),
            votes_allowed: master.votes_allowed.clone(),
            state: state_of,
            chunks: Arc::default(),
        });
        servers.spawn(net::serve(journal_port, Port::Journal, routes, None));
    }
    servers.spawn(net::serve(rpc, Port::MasterRpc, rpc::routes(master.clone()), None));
    servers.spawn(net::serve(web, Port::Web, web::routes(master.clone()), None));

    tokio::spawn(log_leadership(master.clone()));
    tokio::spawn(break_split_votes(master.clone()));
    tokio::spawn(rpc::batch_writes(master.clone(), queued));
    tokio::spawn(membership::join(master.clone(), member));
    tokio::spawn(declared::run(master.clone()));
    tokio::spawn(status::run(master.clone()));

    let outcome = tokio::select! {
        () = crate::signal::terminated() => Ok(()),
        Some(ended) = servers.join_next() => Err(MasterError::Raft(format!("a server stopped: {ended:?}"))),
        fatal = raft_stopped(&master) => Err(MasterError::Raft(fatal)),
    };
    step_down(&master).await;
    outcome
}

/// Resolves when openraft stops on its own (a storage error, a bug): the process exits so that
/// the pod restarts, rather than staying up as a master that can do nothing.
async fn raft_stopped(master: &Master) -> String {
    let mut metrics = master.raft.metrics();
    loop {
        if let Err(fatal) = &metrics.borrow_and_update().running_state {
            return fatal.to_string();
        }
        if metrics.changed().await.is_err() {
            return "raft stopped".to_owned();
        }
    }
}

/// Refuses new writes, lets the ones in flight finish (bounded), and stops Raft: the other
/// masters elect a successor once the lease runs out. (openraft 0.9 has no leadership transfer.)
async fn step_down(master: &Master) {
    master.stepping_down.store(true, Ordering::SeqCst);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while master.in_flight.load(Ordering::SeqCst) > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if let Err(e) = master.raft.shutdown().await {
        tracing::warn!(error = %e, "raft did not stop cleanly");
    }
    tracing::info!("master stopped");
}

/// openraft 0.9 draws each master's election timeout once, at start, and checks it on ticks of
/// 1.5 heartbeats: two masters whose timeouts fall on the same tick campaign in lockstep for
/// ever, each voting for itself (the tests saw it in about one run of three after a leader died).
/// A voting master that has known no leader for longer than the maximum timeout therefore
/// campaigns once more after a random pause, which breaks the tie; Raft's rules keep that safe.
async fn break_split_votes(master: Arc<Master>) {
    let (min, max) = master.cfg.election_timeout;
    let random = || {
        use std::hash::BuildHasher;
        std::collections::hash_map::RandomState::new().hash_one(std::time::Instant::now())
    };
    let leaderless = |master: &Master| {
        let metrics = master.raft.metrics();
        let m = metrics.borrow();
        m.current_leader.is_none() && matches!(m.state, ServerState::Candidate | ServerState::Follower)
    };
    loop {
        tokio::time::sleep(Duration::from_millis(max)).await;
        if !master.votes_allowed.load(Ordering::SeqCst) || !leaderless(&master) {
            continue;
        }
        tokio::time::sleep(Duration::from_millis(random() % min.max(1))).await;
        if leaderless(&master) && master.raft.trigger().elect().await.is_err() {
            return;
        }
    }
}

/// Logs every change of leader and term: the logs then show that no two masters led one term.
async fn log_leadership(master: Arc<Master>) {
    let mut metrics = master.raft.metrics();
    let mut seen: (ServerState, u64) = (ServerState::Learner, u64::MAX);
    loop {
        let now = {
            let m = metrics.borrow_and_update();
            (m.state, m.current_term)
        };
        if now != seen {
            if now.0 == ServerState::Leader {
                tracing::info!(term = now.1, id = master.cfg.id, "elected leader (term {})", now.1);
            } else if seen.0 == ServerState::Leader {
                tracing::info!(term = now.1, "no longer the leader");
            }
            seen = now;
        }
        if metrics.changed().await.is_err() {
            return;
        }
    }
}

/// The members as openraft's initial membership: id -> journal address.
pub fn initial_members(cfg: &MasterConfig) -> BTreeMap<NodeId, BasicNode> {
    cfg.members
        .iter()
        .enumerate()
        .map(|(i, a)| (i as NodeId, BasicNode::new(a.to_string())))
        .collect()
}
