//! Work spread over threads, results kept in input order.

use std::sync::atomic::{AtomicUsize, Ordering};

/// How many threads to use: one per core for work that only computes; twice as many
/// (at most 16) for work that reads files, since a read that misses the page cache
/// leaves its thread waiting on the disk and another thread can compute meanwhile.
pub fn threads(reads_files: bool) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if reads_files {
        cores.saturating_mul(2).min(16)
    } else {
        cores
    }
}

/// `items.iter().map(f)` on up to `threads` threads, in order. Each thread takes the
/// next item as it finishes one, so items of uneven cost still spread evenly.
pub fn map<T: Sync, R: Send>(items: &[T], threads: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = threads.clamp(1, items.len().max(1));
    let next = AtomicUsize::new(0);
    let done: Vec<Vec<(usize, R)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut out = vec![];
                    loop {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(k) else { break out };
                        out.push((k, f(item)));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("worker thread"))
            .collect()
    });
    // Each result is moved once, to its place (sorting would move large ones many times).
    let mut slots: Vec<Option<R>> = std::iter::repeat_with(|| None).take(items.len()).collect();
    for (k, r) in done.into_iter().flatten() {
        slots[k] = Some(r);
    }
    slots
        .into_iter()
        .map(|r| r.expect("every item was taken by a thread"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_order() {
        let items: Vec<u32> = (0..5_000).collect();
        for threads in [1, 2, 7, 16] {
            let doubled = map(&items, threads, |x| {
                if x % 7 == 0 {
                    std::thread::yield_now();
                }
                x * 2
            });
            assert_eq!(doubled, items.iter().map(|x| x * 2).collect::<Vec<_>>());
        }
        assert!(map(&[] as &[u32], 4, |x| *x).is_empty());
        assert_eq!(map(&[3u8], 0, |x| *x), [3]);
    }

    #[test]
    fn work_spreads_over_threads() {
        let items: Vec<u32> = (0..64).collect();
        let ids = map(&items, 4, |_| {
            std::thread::sleep(std::time::Duration::from_millis(2));
            std::thread::current().id()
        });
        let distinct: std::collections::HashSet<_> = ids.into_iter().collect();
        assert!(distinct.len() > 1, "all items ran on one thread");
    }

    #[test]
    fn thread_counts() {
        assert!(threads(false) >= 1);
        assert!(threads(true) >= threads(false).min(16));
        assert!(threads(true) <= 16);
    }
}
