//! The runtime's exit statuses, as one type: every `goosefs` command ends in one of these, and
//! only [`ExitStatus::code`] turns it into a number (docs/user-guide.md's table, like the plugin's
//! `src/exit.rs`).
//!
//! | code | meaning |
//! |---|---|
//! | 0 | done; a daemon stopped cleanly on SIGTERM/SIGINT |
//! | 1 | the master refused the request (bad path, exists, ...), or a daemon failed while running |
//! | 2 | usage error |
//! | 3 | no leading master answered within `goosefs.user.rpc.retry.max.duration` |
//! | 4 | the configuration cannot run (a property, the journal folder, a port, a daemon's key) |
//! | 5 | not authenticated or not allowed: no credential, a key the runtime does not know, a role that may not do this, or a mount the policy forbids |

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Done; a daemon stopped cleanly.
    Success,
    /// The master refused the request, or a daemon failed while running.
    Refused,
    /// A usage error.
    Usage,
    /// No leading master answered in time.
    NoLeader,
    /// The configuration cannot run.
    Unrunnable,
    /// Not authenticated or not allowed.
    Denied,
}

impl ExitStatus {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Refused => 1,
            ExitStatus::Usage => 2,
            ExitStatus::NoLeader => 3,
            ExitStatus::Unrunnable => 4,
            ExitStatus::Denied => 5,
        }
    }
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(status: ExitStatus) -> Self {
        std::process::ExitCode::from(status.code())
    }
}

#[cfg(test)]
mod tests {
    use super::ExitStatus;

    #[test]
    fn codes_are_the_documented_ones() {
        let codes = [
            ExitStatus::Success,
            ExitStatus::Refused,
            ExitStatus::Usage,
            ExitStatus::NoLeader,
            ExitStatus::Unrunnable,
            ExitStatus::Denied,
        ]
        .map(ExitStatus::code);
        assert_eq!(codes, [0, 1, 2, 3, 4, 5]);
    }
}
