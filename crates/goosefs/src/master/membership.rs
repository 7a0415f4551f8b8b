//! How a master becomes a voting member, and why a master with an empty journal is safe.
//!
//! The rendered journal folder is an emptyDir: a master pod recreated elsewhere starts with no
//! journal, while the others still list it as a voter. Such a master may have voted in a term it
//! no longer remembers and acked entries it no longer has; if it voted now, a candidate missing
//! committed entries could win, or two candidates could win one term. So:
//!
//! 1. A master votes only once its journal is known complete ([`crate::master::journal::MEMBER`] is
//!    set): it initialised the group, or it rejoined. Until then the journal port refuses vote
//!    requests and the master does not campaign.
//! 2. An empty master asks its peers (`/raft/state`). If any holds a group that has had a
//!    leader, this master must rejoin it. If every peer answered and none has (or, after
//!    60 s, a majority answered), the group is new: the master records itself as
//!    a member (before initialising: a crash in between leaves a member that never voted, which
//!    is safe) and initialises with the same membership as the others (openraft allows that).
//! 3. Rejoining: the master asks the leader ([`crate::proto::paths::REJOIN`]) with a random
//!    incarnation id. The leader demotes it to a learner (a joint change committed by the other
//!    voters), waits until it has replicated everything committed so far, promotes it back and
//!    journals the incarnation. Only then does the master vote. A crash anywhere in between
//!    repeats the procedure, which is idempotent.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use openraft::ChangeMembers;

use super::Master;
use super::namespace::{Command, Reply};
use crate::master::journal::MEMBER;
use crate::master::raft::{NodeId, PeerState};
use crate::proto::{Answer, Refusal, Rejoin};

/// The journal key of this master's incarnation while it rejoins.
const INCARNATION: &str = "incarnation";
/// How long a new group waits for every master before starting with a majority.
const NEW_GROUP_PATIENCE: Duration = Duration::from_secs(60);
/// How long the leader waits for a rejoining master to catch up.
const CATCH_UP: Duration = Duration::from_secs(60);
/// How long a master with an empty journal tries to rejoin a group that shows no leader before
/// it surveys again (the group it saw may be gone: every master recreated at once, the old
/// ones answering while they terminated).
const REJOIN_PATIENCE: Duration = Duration::from_secs(15);

/// Runs until this master is a member: initialises a new group, or rejoins an existing one.
pub async fn join(master: Arc<Master>, member: bool) {
    if member {
        return;
    }
    master.raft.runtime_config().elect(false);
    let since = tokio::time::Instant::now();
    loop {
        let empty = master.journal.is_empty().unwrap_or(false);
        if empty {
            loop {
                match survey(&master, since.elapsed() >= NEW_GROUP_PATIENCE).await {
                    Survey::New => {
                        if initialise(&master).await {
                            return;
                        }
                    }
                    Survey::Exists => break,
                    Survey::Unknown => {}
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
        if rejoin(&master, empty).await {
            return;
        }
        tracing::info!("no leader answered the rejoin: surveying the peers again");
    }
}

enum Survey {
    /// No peer holds an established group, and every peer (or a majority) answered.
    New,
    /// Some peer holds an established group.
    Exists,
    /// Not enough answers yet.
    Unknown,
}

async fn survey(master: &Master, majority_will_do: bool) -> Survey {
    let mut fresh = 1; // this master
    for (i, address) in master.cfg.members.iter().enumerate() {
        if i as NodeId == master.cfg.id {
            continue;
        }
        let answer: Result<PeerState, _> = master
            .http
            .call::<(), _>(
                &address.to_string(),
                crate::proto::paths::RAFT_STATE,
                None,
                Duration::from_secs(1),
            )
            .await;
        match answer {
            Ok(state) if state.established => return Survey::Exists,
            Ok(_) => fresh += 1,
            Err(e) => tracing::debug!(peer = %address, error = %e, "peer not answering yet"),
        }
    }
    let all = master.cfg.members.len();
    if fresh == all || (majority_will_do && fresh > all / 2) {
        Survey::New
    } else {
        Survey::Unknown
    }
}

async fn initialise(master: &Master) -> bool {
    if let Err(e) = record(master, MEMBER, b"1".to_vec()).await {
        tracing::error!(error = %e, "cannot record membership in the journal");
        return false;
    }
    let members = super::initial_members(&master.cfg);
    match master.raft.initialize(members).await {
        Ok(()) => {}
        // Another path got there first (a restart between initialise and the flag).
        Err(e) if e.to_string().contains("NotAllowed") || e.to_string().contains("not allowed") => {}
        Err(e) => {
            tracing::warn!(error = %e, "cannot initialise the journal yet");
            return false;
        }
    }
    become_member(master).await;
    tracing::info!(members = master.cfg.members.len(), "initialised a new journal group");
    true
}

/// Writes one journal record durably, through the journal's writer.
async fn record(master: &Master, key: &'static str, value: Vec<u8>) -> Result<(), impl std::fmt::Display> {
    master
        .journal
        .put_meta(key, value, openraft::StorageIOError::write)
        .await
}

async fn become_member(master: &Master) {
    if let Err(e) = record(master, MEMBER, b"1".to_vec()).await {
        tracing::error!(error = %e, "cannot record membership in the journal");
        return;
    }
    master.votes_allowed.store(true, Ordering::SeqCst);
    master.raft.runtime_config().elect(true);
}

/// Rejoins the group; `true` once a voter again. With `may_give_up` (an empty journal), `false`
/// when no master named a leader for [`REJOIN_PATIENCE`] and the journal is still empty.
async fn rejoin(master: &Master, may_give_up: bool) -> bool {
    let incarnation = match master.journal.meta(INCARNATION) {
        Ok(Some(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
        _ => {
            let fresh = format!(
                "{:x}-{:x}",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or_default()
            );
            if let Err(e) = record(master, INCARNATION, fresh.clone().into_bytes()).await {
                tracing::error!(error = %e, "cannot record the incarnation");
            }
            fresh
        }
    };
    tracing::info!(%incarnation, "journal incomplete (lost or never joined): rejoining as a learner before voting");
    let request = Rejoin {
        node: master.cfg.id,
        incarnation,
    };
    let masters = master.rpc_addresses();
    let mut next: Option<String> = None;
    let mut i = 0usize;
    let mut leader_seen = tokio::time::Instant::now();
    loop {
        if may_give_up && leader_seen.elapsed() >= REJOIN_PATIENCE && master.journal.is_empty().unwrap_or(false) {
            return false;
        }
        let address = next.take().unwrap_or_else(|| {
            i = (i + 1) % masters.len();
            masters[i].clone()
        });
        let answer: Result<Answer<()>, _> = master
            .http
            .call(
                &address,
                crate::proto::paths::REJOIN,
                Some(&request),
                CATCH_UP + Duration::from_secs(30),
            )
            .await;
        match answer {
            Ok(Answer::Ok(())) => {
                become_member(master).await;
                tracing::info!("rejoined: voting again");
                return true;
            }
            Ok(Answer::NotLeader { leader }) => {
                if leader.is_some() {
                    leader_seen = tokio::time::Instant::now();
                }
                next = leader;
            }
            Ok(Answer::Refused(reason)) => {
                leader_seen = tokio::time::Instant::now();
                tracing::warn!(%address, %reason, "rejoin refused");
            }
            Err(e) => tracing::debug!(%address, error = %e, "rejoin request failed"),
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// The leader's side of a rejoin (one at a time).
pub async fn handle_rejoin(master: &Master, request: &Rejoin) -> Answer<()> {
    let _one = master.rejoining.lock().await;
    let node = request.node;
    let Some(address) = usize::try_from(node)
        .ok()
        .and_then(|i| master.cfg.members.get(i))
        .map(ToString::to_string)
    else {
        return Answer::Refused(Refusal::invalid(format!(
            "master {node} is not in the journal addresses"
        )));
    };
    let done = {
        let applied = master
            .journal
            .applied
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        applied.namespace.rejoined.get(&node) == Some(&request.incarnation)
            && applied.membership.voter_ids().any(|v| v == node)
    };
    if done {
        return Answer::Ok(());
    }
    let voters = |master: &Master| -> BTreeSet<NodeId> {
        master
            .raft
            .metrics()
            .borrow()
            .membership_config
            .membership()
            .voter_ids()
            .collect()
    };
    if voters(master).contains(&node) {
        let change = ChangeMembers::RemoveVoters(BTreeSet::from([node]));
        if let Err(e) = master.raft.change_membership(change, true).await {
            return not_now(master, &e.to_string());
        }
        tracing::info!(node, "rejoin: demoted to learner");
    }
    let learners: BTreeSet<NodeId> = master
        .raft
        .metrics()
        .borrow()
        .membership_config
        .membership()
        .learner_ids()
        .collect();
    if !learners.contains(&node)
        && let Err(e) = master
            .raft
            .add_learner(node, openraft::BasicNode::new(address), false)
            .await
    {
        return not_now(master, &e.to_string());
    }
    // Everything committed so far, which includes whatever the lost journal had acked.
    let target = master.raft.metrics().borrow().last_applied.map(|l| l.index);
    let caught_up = master
        .raft
        .wait(Some(CATCH_UP))
        .metrics(
            |m| {
                let matched = m.replication.as_ref().and_then(|r| r.get(&node).copied().flatten());
                matched.map(|l| l.index) >= target
            },
            "rejoining learner caught up",
        )
        .await;
    if let Err(e) = caught_up {
        return not_now(master, &format!("learner {node} did not catch up: {e}"));
    }
    let change = ChangeMembers::AddVoterIds(BTreeSet::from([node]));
    if let Err(e) = master.raft.change_membership(change, true).await {
        return not_now(master, &e.to_string());
    }
    tracing::info!(node, "rejoin: promoted to voter");
    let record = Command::Rejoined {
        node,
        incarnation: request.incarnation.clone(),
    };
    match master.raft.client_write(record).await {
        Ok(r) if r.data == Reply::Done => Answer::Ok(()),
        Ok(r) => Answer::Refused(Refusal::failed(format!("{:?}", r.data))),
        Err(e) => not_now(master, &e.to_string()),
    }
}

/// A step that failed because leadership moved or a change is in progress: the rejoining
/// master retries (at the new leader, if known).
fn not_now(master: &Master, reason: &str) -> Answer<()> {
    tracing::info!(%reason, "rejoin step not done; the master will retry");
    Answer::NotLeader {
        leader: master
            .leader_id()
            .filter(|id| *id != master.cfg.id)
            .and_then(|id| master.rpc_address_of(id)),
    }
}
