//! The refs nes keeps beside the branch, named once so that opening a repository and
//! recovering a run agree on them.

/// Ref holding the commit HEAD was at before the current (or crashed) run's first write.
pub const PRE_RUN_REF: &str = "refs/nes/pre-run";
