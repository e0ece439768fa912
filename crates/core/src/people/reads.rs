//! Single-person reads batched across concurrent requests.

use uuid::Uuid;

use crate::CoreError;
use crate::ports::{StoreError, StoredPerson};

/// Single-person reads batched: the ids that concurrent requests ask for while a query runs go
/// together in the next one (`Store::people_get`). One query runs at a time: measured, a second
/// in flight only split the batches.
pub struct PersonReads(crate::batch::Batcher<Uuid, Result<Option<StoredPerson>, StoreError>>);

/// Most ids in one query.
const READS_MAX: usize = 256;

impl PersonReads {
    pub fn start(store: std::sync::Arc<dyn crate::ports::Store>) -> Self {
        Self(crate::batch::Batcher::start(
            READS_MAX,
            1,
            |_| 1,
            move |ids: Vec<Uuid>| {
                let store = store.clone();
                async move {
                    match store.people_get(ids.clone()).await {
                        Ok(found) => {
                            let by_id: std::collections::HashMap<Uuid, StoredPerson> = found.into_iter().map(|p| (p.row.id, p)).collect();
                            ids.iter().map(|id| Ok(by_id.get(id).cloned())).collect()
                        }
                        Err(e) => vec![Err(e); ids.len()],
                    }
                }
            },
        ))
    }

    /// The stored person, or None if there is none with this id.
    pub async fn get(&self, id: Uuid) -> Result<Option<StoredPerson>, CoreError> {
        self.0.call(id).await.ok_or_else(|| CoreError::Storage("the person reader stopped".into()))?.map_err(CoreError::from)
    }
}
