//! devlic's exit codes, the same for every command (see DESIGN.md).

use std::process::ExitCode;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: success, or in sync.
    Success,
    /// 1: an error (invalid spec, unreadable file, failed request, ...).
    Error,
    /// 2: the plan has changes (only with `--detailed-exitcode`).
    #[allow(dead_code)] // used by `plan`, which another part adds
    Changes,
    /// 3: a guard refused (mass revoke, empty spec, stale plan, capacity).
    #[allow(dead_code)] // used by `plan`/`apply`, which other parts add
    GuardRefused,
}

impl Exit {
    /// The numeric code.
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Error => 1,
            Exit::Changes => 2,
            Exit::GuardRefused => 3,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit.code())
    }
}
