//! Rebuilding the derived indexes that only core can compute, because they need the keys: the
//! name blind index (the prefixes of name tokens of NFC text, ADR 0003 and ADR 0034). A database
//! written by an older Sejf records an older version in `index_state`; `sejf serve` rebuilds it
//! in the background, and `sejf reindex` does it in the foreground with a progress bar. From
//! version 2 (every prefix, among them each one a search looks up now) a person not yet rebuilt
//! is found meanwhile; from version 1 (whole words only) not by a word of three characters or
//! more until they are.

use crate::actions::AuditAction;
use uuid::Uuid;

use crate::authz::{Action, Resource, Scope, authorize};
use crate::{Actor, App, CoreError};

/// The name index as this Sejf derives it.
pub const NAMES_VERSION: i64 = 3;
const NAMES: &str = "names";
const PAGE: u32 = 500;

impl App {
    /// Whether the name index was derived by an older Sejf and needs rebuilding.
    pub async fn names_need_reindex(&self) -> Result<bool, CoreError> {
        Ok(self.store.index_version(NAMES).await? < NAMES_VERSION)
    }

    /// Re-derives every person's name index from their decrypted names (the operator only: it
    /// reads everyone), writing only those that differ, then records the version. `progress`
    /// hears the people examined so far. Answers (examined, rewritten); recorded as
    /// `person.reindex` with counts only.
    pub async fn reindex_names(&self, actor: &Actor, mut progress: impl FnMut(u64)) -> Result<(u64, u64), CoreError> {
        if actor.scope != Scope::Operator {
            return Err(CoreError::Forbidden("only the operator rebuilds indexes".into()));
        }
        let policy = self.policy();
        let (mut after, mut examined, mut rewritten) = (None::<Uuid>, 0u64, 0u64);
        loop {
            let page = self.store.people_keys(after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            let ids: Vec<Uuid> = page.iter().map(|k| k.id).collect();
            // The tokens before the people (two reads, two snapshots): a name changed between
            // them shows here as the new name over the old tokens, and the tokens written are
            // the new name's; the other way round, the old name's would overwrite the new ones.
            let mut indexed = self.store.people_name_tokens(ids.clone()).await?;
            let stored = self.store.people_get(ids).await?;
            let mut writes = Vec::new();
            for p in &stored {
                examined += 1;
                if p.wrapped_key.is_none() {
                    continue;
                }
                let res = Resource::person(&p.row);
                let permit = authorize(&policy, actor, Action::Read, res)
                    .map_err(|_| CoreError::Forbidden("the operator may not read a person".into()))?;
                let view = self.decrypt(p, &permit)?;
                let mut want = self.name_index(view.fields.first_name.as_deref(), view.fields.last_name.as_deref());
                want.sort_unstable();
                // Written only over the version these tokens come from: a person updated since
                // has the tokens of their new name already, and keeps them.
                if indexed.remove(&p.row.id).unwrap_or_default() != want {
                    writes.push(self.store.person_name_tokens_replace(p.row.id, p.row.version, want));
                }
            }
            // A page's rewrites at once, so that the store commits them together (one group
            // commit of SQLite's writer, or of PostgreSQL's) rather than one commit a person.
            for done in futures_util::future::join_all(writes).await {
                rewritten += u64::from(done?);
            }
            progress(examined);
        }
        self.store.set_index_version(NAMES, NAMES_VERSION).await?;
        let mut ev = self.event(actor, AuditAction::PersonReindex, "index", NAMES);
        ev.detail = format!("examined={examined} rewritten={rewritten} version={NAMES_VERSION}");
        self.audit(vec![ev]).await?;
        Ok((examined, rewritten))
    }
}
