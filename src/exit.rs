//! The exit statuses docs/reference.md documents, as one type: every command ends in one of these, and
//! only [`ExitStatus::code`] turns it into a number.

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Done; for validate, no error findings; for status, every runtime ready.
    Success,
    /// Findings of severity error (or warnings with `--strict`), or input render refuses.
    Findings,
    /// A cluster command could not do its work: the API server refused or was unreachable, a
    /// wait timed out, a saved plan is stale.
    ClusterError,
    /// A usage error, an unreadable input, a declined or impossible confirmation, or a failure
    /// of the tool itself.
    Failure,
    /// `plan --detailed-exitcode`: something would change.
    Changes,
    /// `status`: a runtime is not ready, or none was found.
    NotReady,
}

impl ExitStatus {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Findings | ExitStatus::ClusterError => 1,
            ExitStatus::Failure | ExitStatus::Changes => 2,
            ExitStatus::NotReady => 3,
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
    fn codes_are_readme_s() {
        let codes: Vec<u8> = [
            ExitStatus::Success,
            ExitStatus::Findings,
            ExitStatus::ClusterError,
            ExitStatus::Failure,
            ExitStatus::Changes,
            ExitStatus::NotReady,
        ]
        .map(ExitStatus::code)
        .to_vec();
        assert_eq!(codes, [0, 1, 1, 2, 2, 3]);
    }
}
