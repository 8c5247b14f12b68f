//! Group commit: many tasks each need a write committed before they go on; the writes
//! that arrive while one transaction is committing go together in the next.
//!
//! There is no background task. A caller queues its write and waits for the leader
//! lock; whoever holds it commits everything queued, hands each waiter the outcome,
//! and lets go. A caller whose write was committed by an earlier leader returns
//! without committing anything. Under load a batch is as large as the number of
//! writers that finished during one commit, and when writes are rare each commits on
//! its own with no added delay.
//!
//! Durability is unchanged: `submit` returns only after the transaction holding that
//! write committed (or failed, which every waiter in the batch is told).

use std::future::Future;
use std::sync::Mutex;
use tokio::sync::oneshot;

type Waiter = oneshot::Sender<Result<(), String>>;

/// Batches writes of type `T` into shared transactions.
#[derive(Debug)]
pub struct GroupCommit<T> {
    queue: Mutex<Vec<(T, Waiter)>>,
    leader: tokio::sync::Mutex<()>,
}

impl<T> Default for GroupCommit<T> {
    fn default() -> Self {
        Self {
            queue: Mutex::new(Vec::new()),
            leader: tokio::sync::Mutex::new(()),
        }
    }
}

impl<T> GroupCommit<T> {
    /// Queues `item` and returns once a transaction holding it committed. `commit`
    /// writes a whole batch in one transaction; it is called by at most one caller at
    /// a time.
    ///
    /// Dropping the future while it waits leaves the write queued for the next
    /// leader; dropping it while it leads abandons that batch, and its other waiters
    /// get an error (their work is then retried, as after any failed commit).
    pub async fn submit<F, Fut>(&self, item: T, commit: F) -> anyhow::Result<()>
    where
        F: FnOnce(Vec<T>) -> Fut,
        Fut: Future<Output = anyhow::Result<()>>,
    {
        let (tx, mut rx) = oneshot::channel();
        self.queue
            .lock()
            .expect("group commit queue")
            .push((item, tx));
        let _leader = self.leader.lock().await;
        match rx.try_recv() {
            Ok(outcome) => return outcome.map_err(anyhow::Error::msg),
            Err(oneshot::error::TryRecvError::Closed) => {
                anyhow::bail!("the batch holding this write was abandoned before it committed")
            }
            Err(oneshot::error::TryRecvError::Empty) => {}
        }
        let batch = std::mem::take(&mut *self.queue.lock().expect("group commit queue"));
        let (items, waiters): (Vec<T>, Vec<Waiter>) = batch.into_iter().unzip();
        let outcome = commit(items).await.map_err(|e| format!("{e:#}"));
        for w in waiters {
            let _ = w.send(outcome.clone());
        }
        match rx.try_recv() {
            Ok(outcome) => outcome.map_err(anyhow::Error::msg),
            Err(_) => anyhow::bail!("group commit lost a write it had queued"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    // One thread: while the first leader's commit is pending, the other 199 writers
    // queue, and the next leader commits them together.
    #[tokio::test]
    async fn concurrent_writes_share_transactions_and_each_is_committed_once() {
        let gc = Arc::new(GroupCommit::<u32>::default());
        let committed = Arc::new(Mutex::new(Vec::<Vec<u32>>::new()));
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..200 {
            let (gc, committed) = (gc.clone(), committed.clone());
            tasks.spawn(async move {
                gc.submit(i, |batch| async move {
                    tokio::task::yield_now().await;
                    committed.lock().unwrap().push(batch);
                    Ok(())
                })
                .await
            });
        }
        while let Some(r) = tasks.join_next().await {
            r.unwrap().unwrap();
        }
        let batches = committed.lock().unwrap().clone();
        let mut all: Vec<u32> = batches.iter().flatten().copied().collect();
        all.sort_unstable();
        assert_eq!(
            all,
            (0..200).collect::<Vec<_>>(),
            "every write exactly once"
        );
        assert_eq!(
            batches.iter().map(Vec::len).collect::<Vec<_>>(),
            [1, 199],
            "200 concurrent writes, transactions of these sizes"
        );
    }

    #[tokio::test]
    async fn a_failed_commit_is_reported_to_every_write_in_the_batch() {
        let gc = GroupCommit::<u32>::default();
        let err = gc
            .submit(1, |_| async { anyhow::bail!("disk full") })
            .await
            .unwrap_err();
        assert!(err.to_string().contains("disk full"), "{err}");
        // The queue is empty again: the next write commits on its own.
        gc.submit(2, |b| async move {
            assert_eq!(b, vec![2]);
            Ok(())
        })
        .await
        .unwrap();
    }
}
