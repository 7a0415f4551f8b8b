//! The web port: `/health` for the liveness probe, `/ready` for the readiness probe (this master
//! serves: see [`readiness`]), `/metrics` in Prometheus' text format (role, term, commit
//! index, last quorum contact, journal size) and `/api/v1/status` as JSON.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use openraft::ServerState;
use serde::Serialize;

use super::Master;

/// The web port's routes.
pub fn routes(master: Arc<Master>) -> axum::Router {
    axum::Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .route("/api/v1/status", get(status))
        .with_state(master)
}

#[derive(Serialize)]
struct Status {
    id: u64,
    role: &'static str,
    term: u64,
    leader: Option<u64>,
    last_log_index: Option<u64>,
    applied_index: Option<u64>,
    voters: Vec<u64>,
    learners: Vec<u64>,
    votes_allowed: bool,
    journal_entries: u64,
    snapshot_bytes: u64,
}

fn role(state: ServerState) -> &'static str {
    match state {
        ServerState::Leader => "leader",
        ServerState::Follower => "follower",
        ServerState::Candidate => "candidate",
        ServerState::Learner => "learner",
        ServerState::Shutdown => "shutdown",
    }
}

fn snapshot(master: &Master) -> Status {
    let metrics = master.raft.metrics();
    let m = metrics.borrow();
    let membership = m.membership_config.membership();
    Status {
        id: master.cfg.id,
        role: role(m.state),
        term: m.current_term,
        leader: master.leader_id(),
        last_log_index: m.last_log_index,
        applied_index: m.last_applied.map(|l| l.index),
        voters: membership.voter_ids().collect(),
        learners: membership.learner_ids().collect(),
        votes_allowed: master.votes_allowed.load(Ordering::SeqCst),
        journal_entries: master.journal.log_entries(),
        snapshot_bytes: master.journal.snapshot_bytes(),
    }
}

/// Why this master does not serve yet, if it does not: it must be a voter that has rejoined
/// (its journal known complete), know the current leader, and have applied all of its log; the
/// leader must also have heard from a quorum within its lease.
pub fn readiness(master: &Master) -> Result<(), String> {
    let metrics = master.raft.metrics();
    let m = metrics.borrow();
    if let Err(e) = &m.running_state {
        return Err(format!("raft stopped: {e}"));
    }
    if !master.votes_allowed.load(Ordering::SeqCst) {
        return Err("rejoining: its journal is not known complete yet".to_owned());
    }
    if master.stepping_down.load(Ordering::SeqCst) {
        return Err("stopping".to_owned());
    }
    if !m
        .membership_config
        .membership()
        .voter_ids()
        .any(|id| id == master.cfg.id)
    {
        return Err("not a voter (a learner catching up)".to_owned());
    }
    let Some(leader) = m.current_leader else {
        return Err("no leader known (an election, or no quorum)".to_owned());
    };
    let applied = m.last_applied.map(|l| l.index);
    if applied < m.last_log_index {
        return Err(format!(
            "applying its log: {} of {}",
            applied.unwrap_or(0),
            m.last_log_index.unwrap_or(0)
        ));
    }
    if leader == master.cfg.id && !master.lease_valid(&m) {
        return Err("leader without a quorum's recent acknowledgement".to_owned());
    }
    Ok(())
}

async fn ready(State(master): State<Arc<Master>>) -> (StatusCode, String) {
    match readiness(&master) {
        Ok(()) => (StatusCode::OK, "ready\n".to_owned()),
        Err(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {why}\n")),
    }
}

async fn health(State(master): State<Arc<Master>>) -> (StatusCode, &'static str) {
    if master.raft.metrics().borrow().running_state.is_ok() {
        (StatusCode::OK, "ok\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "raft stopped\n")
    }
}

async fn status(State(master): State<Arc<Master>>) -> Json<Status> {
    Json(snapshot(&master))
}

async fn metrics(State(master): State<Arc<Master>>) -> String {
    let s = snapshot(&master);
    let quorum_ack = master.raft.metrics().borrow().millis_since_quorum_ack;
    let (workers, blocks) = {
        let reports = master.data.reports();
        (reports.len(), reports.iter().map(|r| r.blocks).sum::<usize>())
    };
    let mut e = crate::metrics::Exposition::new("master");
    e.gauge(
        "goosefs_master_is_leader",
        "1 on the leader.",
        u8::from(s.role == "leader"),
    );
    e.gauge("goosefs_master_raft_term", "Raft term.", s.term);
    e.gauge(
        "goosefs_master_raft_applied_index",
        "Index of the last applied (committed) journal entry (-1 before any).",
        s.applied_index.map_or(-1, |i| i as i64),
    );
    e.gauge(
        "goosefs_master_raft_last_log_index",
        "Index of the last journal entry (-1 before any).",
        s.last_log_index.map_or(-1, |i| i as i64),
    );
    #[allow(clippy::cast_precision_loss)] // seconds from milliseconds
    e.gauge(
        "goosefs_master_raft_quorum_contact_age_seconds",
        "On the leader: seconds since a quorum acknowledged it (-1 elsewhere).",
        quorum_ack.map_or(-1.0, |ms| ms as f64 / 1000.0),
    );
    e.gauge(
        "goosefs_master_journal_entries",
        "Entries in the journal since the last snapshot.",
        s.journal_entries,
    );
    e.gauge(
        "goosefs_master_votes_allowed",
        "0 while a master with a lost journal rejoins.",
        u8::from(s.votes_allowed),
    );
    e.family(
        "goosefs_master_raft_state",
        crate::metrics::Kind::Gauge,
        "1 for this master's Raft state.",
    );
    e.sample("goosefs_master_raft_state", &[("state", s.role)], 1);
    e.gauge("goosefs_master_workers", "Live workers (the leader's view).", workers);
    e.gauge(
        "goosefs_master_cached_blocks",
        "Cached blocks the live workers report (the leader's view).",
        blocks,
    );
    crate::auth::metrics(&mut e);
    e.finish()
}
