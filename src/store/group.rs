//! Group commit: many tasks each need a write committed before they go on; the writes
//! that arrive while one transaction is committing go together in the next. The same
//! mechanism batches reads ([`GroupCommit::submit_each`]): the lookups that arrive
//! while one query runs are answered by the next, one row each.
//!
//! There is no background task. A caller queues its item and waits for the leader
//! lock; whoever holds it runs the batch for everything queued, hands each waiter its
//! outcome, and lets go. A caller whose item an earlier leader handled returns
//! without running anything. Under load a batch is as large as the number of callers
//! that arrived during one batch, and when calls are rare each runs on its own with
//! no added delay.
//!
//! Durability is unchanged: `submit` returns only after the transaction holding that
//! write committed (or failed, which every waiter in the batch is told).

use std::future::Future;
use std::sync::Mutex;
use tokio::sync::oneshot;

type Waiter<R> = oneshot::Sender<Result<R, String>>;

/// Batches items of type `T` into shared transactions (or queries), each answered
/// with an `R`.
#[derive(Debug)]
pub struct GroupCommit<T, R = ()> {
    queue: Mutex<Vec<(T, Waiter<R>)>>,
    leader: tokio::sync::Mutex<()>,
}

impl<T, R> Default for GroupCommit<T, R> {
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
        self.submit_each(item, |items| {
            let n = items.len();
            let done = commit(items);
            async move { done.await.map(|()| vec![(); n]) }
        })
        .await
    }
}

impl<T, R> GroupCommit<T, R> {
    /// Queues `item` and returns its answer from the batch that held it. `run` gets
    /// the batch and returns one answer per item, in order; it is called by at most
    /// one caller at a time. An error is every item's error.
    pub async fn submit_each<F, Fut>(&self, item: T, run: F) -> anyhow::Result<R>
    where
        F: FnOnce(Vec<T>) -> Fut,
        Fut: Future<Output = anyhow::Result<Vec<R>>>,
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
                anyhow::bail!("the batch holding this item was abandoned before it finished")
            }
            Err(oneshot::error::TryRecvError::Empty) => {}
        }
        let batch = std::mem::take(&mut *self.queue.lock().expect("group commit queue"));
        let (items, waiters): (Vec<T>, Vec<Waiter<R>>) = batch.into_iter().unzip();
        let n = items.len();
        match run(items).await {
            Ok(answers) if answers.len() == n => {
                for (w, a) in waiters.into_iter().zip(answers) {
                    let _ = w.send(Ok(a));
                }
            }
            Ok(answers) => {
                let e = format!("a batch of {n} gave {} answers", answers.len());
                for w in waiters {
                    let _ = w.send(Err(e.clone()));
                }
            }
            Err(e) => {
                let e = format!("{e:#}");
                for w in waiters {
                    let _ = w.send(Err(e.clone()));
                }
            }
        }
        match rx.try_recv() {
            Ok(outcome) => outcome.map_err(anyhow::Error::msg),
            Err(_) => anyhow::bail!("group commit lost an item it had queued"),
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
    async fn batched_reads_answer_each_caller_with_its_own_row() {
        let g = Arc::new(GroupCommit::<u32, String>::default());
        let batches = Arc::new(Mutex::new(0));
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..50 {
            let (g, batches) = (g.clone(), batches.clone());
            tasks.spawn(async move {
                let got = g
                    .submit_each(i, |keys| async move {
                        tokio::task::yield_now().await;
                        *batches.lock().unwrap() += 1;
                        Ok(keys.iter().map(|k| format!("row {k}")).collect())
                    })
                    .await
                    .unwrap();
                assert_eq!(got, format!("row {i}"));
            });
        }
        while let Some(r) = tasks.join_next().await {
            r.unwrap();
        }
        assert_eq!(*batches.lock().unwrap(), 2, "50 lookups in two queries");
        // A batch that answers the wrong number of items fails every caller.
        let err = g
            .submit_each(1, |_| async { Ok(Vec::new()) })
            .await
            .unwrap_err();
        assert!(err.to_string().contains("gave 0 answers"), "{err}");
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
