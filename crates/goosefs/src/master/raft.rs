//! openraft's types for the masters and its network: Raft messages travel as JSON over HTTP to
//! each master's embedded journal port (`goosefs.master.embedded.journal.port`). The server side
//! of these routes lives here too, including the vote gate: a master that lost its journal
//! refuses every vote request until it has rejoined (see `master::membership`).

use std::io::Cursor;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use openraft::BasicNode;
use openraft::error::{InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse, VoteRequest,
    VoteResponse,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::namespace::{Command, Reply};
use crate::net::{Http, NetError};
use crate::proto::paths;

/// A master's Raft id: its position in `goosefs.master.embedded.journal.addresses`.
pub type NodeId = u64;

openraft::declare_raft_types!(
    /// The masters' Raft types.
    pub TypeConfig:
        D = Command,
        R = Reply,
        NodeId = NodeId,
        Node = BasicNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = Cursor<Vec<u8>>,
);

/// The Raft handle.
pub type Raft = openraft::Raft<TypeConfig>;

/// What `/raft/state` tells a starting peer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PeerState {
    /// The group has had a leader (entries after the initial membership, or a snapshot): a
    /// master with an empty journal must rejoin it, never initialise.
    pub established: bool,
    /// The peer's log is complete (it initialised the group or has rejoined it).
    pub member: bool,
}

/// Connects to the other masters' journal ports.
#[derive(Clone, Default)]
pub struct Network {
    http: Http,
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = Peer;

    async fn new_client(&mut self, target: NodeId, node: &BasicNode) -> Peer {
        Peer {
            target,
            address: node.addr.clone(),
            http: self.http.clone(),
        }
    }
}

/// One peer's journal port.
pub struct Peer {
    target: NodeId,
    address: String,
    http: Http,
}

impl Peer {
    async fn send<Req: Serialize, Resp: DeserializeOwned, E: std::error::Error + DeserializeOwned>(
        &self,
        path: &str,
        request: &Req,
        option: &RPCOption,
    ) -> Result<Resp, RPCError<NodeId, BasicNode, RaftError<NodeId, E>>> {
        let answer: Result<Result<Resp, RaftError<NodeId, E>>, NetError> = self
            .http
            .call(&self.address, path, Some(request), option.hard_ttl())
            .await;
        match answer {
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(remote)) => Err(RPCError::RemoteError(RemoteError::new(self.target, remote))),
            // Refused connections back off; anything else (a timeout, a refused vote) retries.
            Err(e @ (NetError::Unreachable { .. } | NetError::Resolve { .. })) => {
                Err(RPCError::Unreachable(Unreachable::new(&e)))
            }
            Err(e) => Err(RPCError::Network(NetworkError::new(&e))),
        }
    }
}

impl RaftNetwork<TypeConfig> for Peer {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        self.send(paths::RAFT_APPEND, &rpc, &option).await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<InstallSnapshotResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId, InstallSnapshotError>>>
    {
        self.send(paths::RAFT_SNAPSHOT, &rpc, &option).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        self.send(paths::RAFT_VOTE, &rpc, &option).await
    }

    fn backoff(&self) -> openraft::network::Backoff {
        openraft::network::Backoff::new(std::iter::repeat(Duration::from_millis(200)))
    }
}

/// What the journal port's handlers share.
#[derive(Clone)]
pub struct RaftPort {
    /// The Raft handle.
    pub raft: Raft,
    /// Open once this master's log is known complete; closed, vote requests are refused.
    pub votes_allowed: Arc<AtomicBool>,
    /// Whether the journal holds a Raft group, and whether this member is complete.
    pub state: Arc<dyn Fn() -> PeerState + Send + Sync>,
    /// The snapshot being received and the end of what arrived of it.
    pub chunks: Arc<std::sync::Mutex<SnapshotChunks>>,
}

/// Snapshot chunks as they arrive. openraft 0.9 checks only that a new snapshot starts at
/// offset 0; within one it seeks to any offset, and the snapshot lives in a `Vec` in memory,
/// so a chunk far past the end would zero-fill memory up to it. Chunks come in order (a
/// resent one may repeat an offset): a chunk that would leave a gap is refused.
#[derive(Debug, Default)]
pub struct SnapshotChunks {
    current: Option<(String, u64)>,
}

impl SnapshotChunks {
    /// Admits a chunk of `len` bytes at `offset` of snapshot `id`.
    ///
    /// # Errors
    /// Why not, one line.
    pub fn admit(&mut self, id: &str, offset: u64, len: usize) -> Result<(), String> {
        let end = offset
            .checked_add(len as u64)
            .ok_or_else(|| format!("invalid: snapshot {id}: offset {offset} overflows"))?;
        match &mut self.current {
            Some((current, received)) if current == id => {
                if offset > *received {
                    return Err(format!(
                        "invalid: snapshot {id}: a chunk at {offset} after {received} bytes leaves a gap"
                    ));
                }
                *received = (*received).max(end);
            }
            _ if offset == 0 => self.current = Some((id.to_owned(), end)),
            // openraft refuses it too (a new snapshot starts at 0); nothing is recorded.
            _ => {}
        }
        Ok(())
    }
}

/// The journal port's routes.
pub fn routes(port: RaftPort) -> axum::Router {
    axum::Router::new()
        .route(paths::RAFT_APPEND, post(append))
        .route(paths::RAFT_VOTE, post(vote))
        .route(paths::RAFT_SNAPSHOT, post(snapshot))
        .route(paths::RAFT_STATE, get(state))
        .with_state(port)
}

async fn append(
    State(port): State<RaftPort>,
    Json(rpc): Json<AppendEntriesRequest<TypeConfig>>,
) -> Json<Result<AppendEntriesResponse<NodeId>, RaftError<NodeId>>> {
    Json(port.raft.append_entries(rpc).await)
}

async fn vote(
    State(port): State<RaftPort>,
    Json(rpc): Json<VoteRequest<NodeId>>,
) -> Result<Json<Result<VoteResponse<NodeId>, RaftError<NodeId>>>, (StatusCode, &'static str)> {
    // A member that lost its journal may have voted in a term it no longer remembers, or acked
    // entries it no longer has: its vote must not count until it has rejoined.
    if !port.votes_allowed.load(Ordering::SeqCst) {
        return Err((
            StatusCode::SERVICE_UNAVAILABLE,
            "rejoining: this master does not vote yet",
        ));
    }
    Ok(Json(port.raft.vote(rpc).await))
}

async fn snapshot(
    State(port): State<RaftPort>,
    Json(rpc): Json<InstallSnapshotRequest<TypeConfig>>,
) -> Result<Json<Result<InstallSnapshotResponse<NodeId>, RaftError<NodeId, InstallSnapshotError>>>, (StatusCode, String)>
{
    let admitted = port
        .chunks
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .admit(&rpc.meta.snapshot_id, rpc.offset, rpc.data.len());
    admitted.map_err(|why| (StatusCode::BAD_REQUEST, format!("{why}\n")))?;
    Ok(Json(port.raft.install_snapshot(rpc).await))
}

async fn state(State(port): State<RaftPort>) -> Json<PeerState> {
    Json((port.state)())
}

#[cfg(test)]
mod tests {
    use super::SnapshotChunks;

    #[test]
    fn snapshot_chunks_come_in_order_or_again_never_past_a_gap() {
        let mut c = SnapshotChunks::default();
        assert!(c.admit("s1", 0, 100).is_ok());
        assert!(c.admit("s1", 100, 100).is_ok());
        assert!(c.admit("s1", 100, 100).is_ok(), "a resent chunk");
        let gap = c.admit("s1", 1 << 40, 1).err().unwrap_or_default();
        assert_eq!(
            gap,
            "invalid: snapshot s1: a chunk at 1099511627776 after 200 bytes leaves a gap"
        );
        assert!(c.admit("s1", u64::MAX, 2).is_err(), "overflow");
        // A new snapshot starts again at 0.
        assert!(c.admit("s2", 0, 10).is_ok());
        assert!(c.admit("s2", 300, 1).is_err());
    }
}
