//! Batching: concurrent callers' requests share one round trip to the store. The trail's group
//! commit and single-person reads both go through a [`Batcher`]. Under load a round trip carries
//! everything that queued while the previous ones ran; alone, a request goes at once.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::{Mutex, mpsc, oneshot};

type Pending<I, O> = (I, oneshot::Sender<O>);

/// Hands items to a background task that runs them in batches and answers each caller.
pub struct Batcher<I, O> {
    tx: mpsc::Sender<Pending<I, O>>,
}

impl<I: Send + 'static, O: Send + 'static> Batcher<I, O> {
    /// Starts `in_flight` worker tasks on the current runtime; each takes a batch, runs it and
    /// answers it before taking the next, so at most `in_flight` batches run at once and none is
    /// handed to another task. A batch holds items up to a total `weight` of `limit` (the first
    /// item always fits). `run` gets the items in arrival order and answers one output per item,
    /// in the same order.
    pub fn start<F, Fut>(limit: usize, in_flight: usize, weight: fn(&I) -> usize, run: F) -> Self
    where
        F: Fn(Vec<I>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<O>> + Send + 'static,
    {
        let (tx, rx) = mpsc::channel::<Pending<I, O>>(8_192);
        let rx = Arc::new(Mutex::new(rx));
        let run = Arc::new(run);
        for _ in 0..in_flight.max(1) {
            let (rx, run) = (rx.clone(), run.clone());
            tokio::spawn(async move {
                loop {
                    // One worker at a time waits for work; it takes what queued meanwhile too.
                    let batch = {
                        let mut rx = rx.lock().await;
                        let Some(first) = rx.recv().await else { break };
                        let mut total = weight(&first.0);
                        let mut batch = vec![first];
                        while total < limit {
                            match rx.try_recv() {
                                Ok(more) => {
                                    total += weight(&more.0);
                                    batch.push(more);
                                }
                                Err(_) => break,
                            }
                        }
                        batch
                    };
                    let (items, replies): (Vec<I>, Vec<oneshot::Sender<O>>) = batch.into_iter().unzip();
                    for (reply, out) in replies.into_iter().zip(run(items).await) {
                        let _ = reply.send(out);
                    }
                }
            });
        }
        Self { tx }
    }

    /// Runs `item` in the next batch and returns its output; None if the task has stopped (or
    /// the batch answered short, which `run` must not do).
    /// Calls waiting for a batch (not yet taken by a worker).
    pub fn queued(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }

    /// Whether the worker tasks have stopped (calls would fail).
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    pub async fn call(&self, item: I) -> Option<O> {
        let (reply, wait) = oneshot::channel();
        self.tx.send((item, reply)).await.ok()?;
        wait.await.ok()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[tokio::test]
    async fn concurrent_calls_share_batches_and_each_gets_its_own_answer() {
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let seen = sizes.clone();
        let batcher = Arc::new(Batcher::start(
            8,
            1,
            |_: &u32| 1,
            move |items: Vec<u32>| {
                seen.lock().unwrap().push(items.len());
                async move {
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                    items.into_iter().map(|i| i * 10).collect::<Vec<_>>()
                }
            },
        ));
        let calls: Vec<_> = (0..20u32)
            .map(|i| {
                let b = batcher.clone();
                tokio::spawn(async move { (i, b.call(i).await) })
            })
            .collect();
        for call in calls {
            let (i, out) = call.await.unwrap();
            assert_eq!(out, Some(i * 10));
        }
        let sizes = sizes.lock().unwrap().clone();
        assert_eq!(sizes.iter().sum::<usize>(), 20);
        assert!(sizes.iter().all(|n| *n <= 8), "{sizes:?}");
        assert!(sizes.len() < 20, "calls that queue while a batch runs share the next one: {sizes:?}");
    }

    #[tokio::test]
    async fn a_short_answer_is_none_not_a_wrong_one() {
        let batcher = Batcher::start(4, 1, |_: &u32| 1, |_items: Vec<u32>| async { Vec::<u32>::new() });
        assert_eq!(batcher.call(1).await, None);
    }
}
