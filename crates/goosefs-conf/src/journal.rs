//! `goosefs.master.embedded.journal.addresses`: `host:port` of every master's Raft endpoint, in
//! master order. The chart once wrote a leading comma (`,a-0:19200,...`); empty entries are
//! skipped as GooseFS skips them.

use std::fmt;

/// One `host:port`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address {
    /// Host name or IP address.
    pub host: String,
    /// Port.
    pub port: u16,
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// Why an address list does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// An entry is not `host:port`.
    #[error("{0:?} is not host:port")]
    Entry(String),
    /// The list has no entry.
    #[error("the address list is empty")]
    Empty,
    /// The same address twice.
    #[error("{0} is listed twice")]
    Duplicate(String),
}

/// Parses one `host:port`.
///
/// # Errors
/// [`AddressError::Entry`] when the host is empty or the port is not 1-65535.
pub fn parse_address(text: &str) -> Result<Address, AddressError> {
    let entry = || AddressError::Entry(text.to_owned());
    let (host, port) = text.trim().rsplit_once(':').ok_or_else(entry)?;
    let port: u16 = port.parse().map_err(|_| entry())?;
    if host.is_empty() || port == 0 || host.contains(|c: char| c.is_whitespace() || c == ',') {
        return Err(entry());
    }
    Ok(Address {
        host: host.to_owned(),
        port,
    })
}

/// Parses a comma-separated list, skipping empty entries.
///
/// # Errors
/// [`AddressError`] for a malformed entry, a duplicate, or no entry at all.
pub fn parse_list(text: &str) -> Result<Vec<Address>, AddressError> {
    let mut out: Vec<Address> = Vec::new();
    for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let address = parse_address(entry)?;
        if out.contains(&address) {
            return Err(AddressError::Duplicate(address.to_string()));
        }
        out.push(address);
    }
    if out.is_empty() {
        return Err(AddressError::Empty);
    }
    Ok(out)
}

/// `<name>-master-0:P,<name>-master-1:P,...`: the list Fluid writes for `masters` masters.
pub fn masters(name: &str, masters: u32, port: u16) -> String {
    (0..masters)
        .map(|i| format!("{name}-master-{i}:{port}"))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_fluid_and_the_chart_write() {
        let fluid = masters("test-goosefs", 3, 19200);
        assert_eq!(
            fluid,
            "test-goosefs-master-0:19200,test-goosefs-master-1:19200,test-goosefs-master-2:19200"
        );
        let list = parse_list(&fluid).unwrap_or_default();
        assert_eq!(list.len(), 3);
        assert_eq!(list[2].to_string(), "test-goosefs-master-2:19200");
        let chart = parse_list(",a-0:19200,a-1:19200").unwrap_or_default();
        assert_eq!(
            chart.iter().map(|a| a.host.as_str()).collect::<Vec<_>>(),
            ["a-0", "a-1"]
        );
    }

    #[test]
    fn rejects_malformed_lists() {
        assert_eq!(parse_list(""), Err(AddressError::Empty));
        assert_eq!(parse_list(" , "), Err(AddressError::Empty));
        assert!(matches!(parse_list("a-0"), Err(AddressError::Entry(_))));
        assert!(matches!(parse_list("a-0:0"), Err(AddressError::Entry(_))));
        assert!(matches!(parse_list(":19200"), Err(AddressError::Entry(_))));
        assert!(matches!(parse_list("a:70000"), Err(AddressError::Entry(_))));
        assert!(matches!(parse_list("a:1,a:1"), Err(AddressError::Duplicate(_))));
    }
}
