//! `kubectl goosefs explain [CODE]`.

use clap::Args;

use super::print;
use crate::exit::ExitStatus;
use crate::ops::OpsError;
use crate::validate::codes::{ALL, Code};

/// Arguments of `explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A rule code such as GFS101; without it, every code is listed.
    pub code: Option<String>,
}

/// Prints the documentation of a code, or the list of codes.
///
/// # Errors
/// [`OpsError::Usage`] for an unknown code.
pub fn run(args: &ExplainArgs) -> Result<ExitStatus, OpsError> {
    let Some(text) = &args.code else {
        let list: String = ALL
            .iter()
            .map(|c| format!("{}  {:<7}  {}\n", c, c.severity().as_str(), c.doc().title))
            .collect();
        return print(&list);
    };
    let code: Code = text.parse().map_err(OpsError::Usage)?;
    let doc = code.doc();
    let indent = |s: &str| s.lines().map(|l| format!("    {l}\n")).collect::<String>();
    print(&format!(
        "{code}: {} ({})\n\n## What it does\n{}\n\n## Why is this bad?\n{}\n\n## Example\nWrong:\n{}\nRight:\n{}",
        doc.title,
        doc.severity.as_str(),
        doc.what,
        doc.why,
        indent(doc.wrong),
        indent(doc.right)
    ))
}
