//! A real SQLite table guarded by fencing tokens, the way a storage that
//! supports fencing checks them: one conditional UPDATE per write.

use std::path::Path;

use rusqlite::{Connection, params};

use tenure_server::controls::{self, Control};

/// A fenced SQLite register per resource.
pub struct FencedStore {
    conn: Connection,
}

/// The result of a fenced write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// The token was at least the highest seen: written.
    Accepted,
    /// A higher token has written already: rejected.
    Stale,
}

impl FencedStore {
    /// Opens (and creates) the store at `path`.
    pub fn open(path: &Path) -> rusqlite::Result<FencedStore> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL;
             CREATE TABLE IF NOT EXISTS fences (resource TEXT PRIMARY KEY, fence INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS records (id INTEGER PRIMARY KEY, resource TEXT, token INTEGER, writer TEXT);",
        )?;
        Ok(FencedStore { conn })
    }

    /// Appends a record for `resource` if `token` is not stale. The check and the
    /// write are one transaction: `UPDATE fences SET fence = ? WHERE fence <= ?`.
    pub fn write(&mut self, resource: &str, token: u64, writer: &str) -> rusqlite::Result<Write> {
        let token = i64::try_from(token).unwrap_or(i64::MAX);
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT OR IGNORE INTO fences (resource, fence) VALUES (?1, 0)",
            params![resource],
        )?;
        let updated = if controls::active(Control::SkipFenceCheck) {
            tx.execute(
                "UPDATE fences SET fence = max(fence, ?2) WHERE resource = ?1",
                params![resource, token],
            )?
        } else {
            tx.execute(
                "UPDATE fences SET fence = ?2 WHERE resource = ?1 AND fence <= ?2",
                params![resource, token],
            )?
        };
        if updated == 0 {
            tx.rollback()?;
            return Ok(Write::Stale);
        }
        tx.execute(
            "INSERT INTO records (resource, token, writer) VALUES (?1, ?2, ?3)",
            params![resource, token, writer],
        )?;
        tx.commit()?;
        Ok(Write::Accepted)
    }

    /// Every accepted record (resource, token), in write order.
    pub fn all_records(&self) -> rusqlite::Result<Vec<(String, u64)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT resource, token FROM records ORDER BY id")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
        })?;
        rows.collect()
    }

    /// Tokens of every accepted record of `resource`, in write order.
    pub fn tokens(&self, resource: &str) -> rusqlite::Result<Vec<u64>> {
        let mut stmt = self
            .conn
            .prepare("SELECT token FROM records WHERE resource = ?1 ORDER BY id")?;
        let rows = stmt.query_map(params![resource], |r| r.get::<_, i64>(0))?;
        rows.map(|r| r.map(|t| t as u64)).collect()
    }
}
