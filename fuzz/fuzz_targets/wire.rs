//! The runtime's wire on any bytes: every request body the servers decode (client writes,
//! registrations, heartbeats, rejoins, block ids, the journal port's Raft messages) never panics;
//! the block protocol's frames and request decoder never panic, and a request it accepts is
//! within bounds, survives a round trip and carries no grant of a key it never saw;
//! the server's side of the authentication handshake never panics and never accepts bytes that
//! hold no valid signature.
#![no_main]

use std::sync::OnceLock;

use goosefs::proto::block::BlockRequest;
use goosefs::auth::{Process, Role, Security};
use libfuzzer_sys::fuzz_target;
use tokio::io::AsyncWriteExt;

/// A master's credential, generated once.
fn master() -> &'static Security {
    static SECURITY: OnceLock<Security> = OnceLock::new();
    SECURITY.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("goosefs-fuzz-credential-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("folder");
        for (item, text) in goosefs_conf::credential::generate().expect("random") {
            std::fs::write(dir.join(item), text).expect("item");
        }
        Security::from_dir(&dir, Process::Daemon(Role::Master)).expect("credential")
    })
}

/// A leader's grant key, drawn once.
fn grants() -> &'static goosefs::grant::Grants {
    static GRANTS: OnceLock<goosefs::grant::Grants> = OnceLock::new();
    GRANTS.get_or_init(|| goosefs::grant::Grants::generate().expect("random"))
}

fuzz_target!(|data: &[u8]| {
    // Every request body the servers decode: any bytes give a value or an error, never a panic.
    let _ = serde_json::from_slice::<goosefs::proto::Write>(data);
    let _ = serde_json::from_slice::<goosefs::master::namespace::Command>(data);
    type Config = goosefs::master::raft::TypeConfig;
    type Node = goosefs::master::raft::NodeId;
    let _ = serde_json::from_slice::<openraft::raft::AppendEntriesRequest<Config>>(data);
    let _ = serde_json::from_slice::<openraft::raft::VoteRequest<Node>>(data);
    let _ = serde_json::from_slice::<openraft::raft::InstallSnapshotRequest<Config>>(data);
    let _ = serde_json::from_slice::<goosefs::proto::Registration>(data);
    let _ = serde_json::from_slice::<goosefs::proto::Heartbeat>(data);
    let _ = serde_json::from_slice::<goosefs::proto::Rejoin>(data);
    let _ = serde_json::from_slice::<Vec<u64>>(data);
    if let Ok(r) = BlockRequest::decode(data) {
        assert!(r.check().is_ok());
        // Bytes that never saw a leader's key carry no grant it made.
        assert!(!grants().holds(&goosefs::grant::Binding::of(&r), &r.grant, 0));
        assert_eq!(BlockRequest::decode(r.to_query().as_bytes()), Ok(r));
    }
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    runtime.block_on(async {
        // The block protocol's frames: a request read from any bytes is at most its bound; an
        // answer read never holds more bytes than asked.
        if let Ok(Some(query)) = goosefs::proto::block::read_request(&mut &data[..]).await {
            assert!(query.len() <= goosefs::proto::block::MAX_REQUEST as usize);
        }
        if let Ok(Ok(bytes)) = goosefs::proto::block::read_answer(&mut &data[..], 64).await {
            assert!(bytes.len() <= 64);
        }
        let (mut client, mut server) = tokio::io::duplex(4096);
        let _ = client.write_all(data).await;
        drop(client);
        // Random bytes cannot sign fresh nonces with a key of this runtime.
        assert!(goosefs::auth::accept(&mut server, master()).await.is_err());
    });
});
