//! Holds back the AppendEntries that only tell a follower a new commit index.
//!
//! openraft sends each follower an extra AppendEntries without entries as soon
//! as an entry commits, so that followers apply it. On a busy machine (three
//! nodes sharing two cores in the benchmark, or a small VM) that wakes both
//! followers to apply at the very moment the leader answers the client, and
//! the answer waits for a core. A follower's state machine is never read
//! (reads, watches and expiry are the leader's), and the commit index also
//! travels on every later AppendEntries and heartbeat, so the update can wait
//! a little: the next request on the stream carries it instead (the held one
//! is dropped: openraft matches answers by log id, not by count), or it goes
//! out after [`COMMIT_DELAY`] if nothing else comes. Nothing about what is
//! durable or acknowledged changes: a follower's apply is part of no reply.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::Stream;
use openraft::raft::AppendEntriesRequest;
use tokio::time::Sleep;

use super::{LogId, TypeConfig};

/// Longest time a commit-only AppendEntries is held back.
pub const COMMIT_DELAY: Duration = Duration::from_millis(5);

type Request = AppendEntriesRequest<TypeConfig>;

/// Wraps the request stream of one replication stream (see the module docs).
pub struct DeferCommits<S> {
    input: Option<S>,
    /// A commit-only request waiting, with the time it goes out anyway.
    held: Option<(Request, Pin<Box<Sleep>>)>,
    /// A request that arrived while one was held: it goes right after it.
    after_held: Option<Request>,
    /// The last log id this stream has carried (entries, or a probe's prev).
    sent_up_to: Option<LogId>,
    delay: Duration,
}

impl<S> DeferCommits<S> {
    /// Holds commit-only requests of `input` up to `delay`.
    pub fn new(input: S, delay: Duration) -> Self {
        DeferCommits {
            input: Some(input),
            held: None,
            after_held: None,
            sent_up_to: None,
            delay,
        }
    }

    /// Whether `req` only carries a commit index for entries this stream has
    /// already sent (not a probe, which must go at once).
    fn commit_only(&self, req: &Request) -> bool {
        req.entries.is_empty()
            && req.prev_log_id.is_some()
            && req.prev_log_id == self.sent_up_to
            && !self.delay.is_zero()
    }

    fn sending(&mut self, req: Request) -> Request {
        self.sent_up_to = match req.entries.last() {
            Some(last) => Some(last.log_id),
            None => req.prev_log_id,
        };
        req
    }
}

impl<S> Stream for DeferCommits<S>
where
    S: Stream<Item = Request> + Unpin,
{
    type Item = Request;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Request>> {
        let this = &mut *self;
        if this.held.is_none()
            && let Some(next) = this.after_held.take()
        {
            return Poll::Ready(Some(this.sending(next)));
        }
        loop {
            let polled = match this.input.as_mut() {
                Some(input) => Pin::new(input).poll_next(cx),
                None => Poll::Ready(None),
            };
            match polled {
                Poll::Ready(Some(req)) => match this.held.take() {
                    // The new request carries the held commit index (or a
                    // later one): the held update is not needed; a held
                    // update keeps its first deadline.
                    Some((held, sleep)) if req.leader_commit >= held.leader_commit => {
                        if !this.commit_only(&req) {
                            return Poll::Ready(Some(this.sending(req)));
                        }
                        this.held = Some((req, sleep));
                    }
                    Some((held, _)) => {
                        this.after_held = Some(req);
                        return Poll::Ready(Some(this.sending(held)));
                    }
                    None if this.commit_only(&req) => {
                        let sleep = Box::pin(tokio::time::sleep(this.delay));
                        this.held = Some((req, sleep));
                    }
                    None => return Poll::Ready(Some(this.sending(req))),
                },
                Poll::Ready(None) => {
                    this.input = None;
                    return Poll::Ready(this.held.take().map(|(held, _)| this.sending(held)));
                }
                Poll::Pending => {
                    let due = match this.held.as_mut() {
                        Some((_, sleep)) => sleep.as_mut().poll(cx).is_ready(),
                        None => false,
                    };
                    if !due {
                        return Poll::Pending;
                    }
                    return Poll::Ready(this.held.take().map(|(held, _)| this.sending(held)));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;
    use openraft::EntryPayload;
    use tokio::sync::mpsc;
    use tokio_stream::wrappers::UnboundedReceiverStream;

    use super::*;
    use crate::raft::{Entry, Vote, log_id};

    fn request(prev: u64, entries: &[u64], commit: u64) -> Request {
        AppendEntriesRequest {
            vote: Vote::new_committed(1, 1),
            prev_log_id: Some(log_id(1, 1, prev)),
            leader_commit: Some(log_id(1, 1, commit)),
            entries: entries
                .iter()
                .map(|&i| Entry {
                    log_id: log_id(1, 1, i),
                    payload: EntryPayload::Blank,
                })
                .collect(),
        }
    }

    /// (prev index, entry count, commit index) of a request, to compare.
    fn shape(r: &Request) -> (u64, usize, u64) {
        let index = |l: &Option<LogId>| l.as_ref().map_or(0, |l| l.index);
        (
            index(&r.prev_log_id),
            r.entries.len(),
            index(&r.leader_commit),
        )
    }

    type Tx = mpsc::UnboundedSender<Request>;

    fn deferred(delay: Duration) -> (Tx, DeferCommits<UnboundedReceiverStream<Request>>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (
            tx,
            DeferCommits::new(UnboundedReceiverStream::new(rx), delay),
        )
    }

    /// The next request, if one comes out within `within` (paused clock).
    async fn next_within(
        s: &mut DeferCommits<UnboundedReceiverStream<Request>>,
        within: Duration,
    ) -> Option<(u64, usize, u64)> {
        tokio::time::timeout(within, s.next())
            .await
            .ok()
            .flatten()
            .map(|r| shape(&r))
    }

    #[tokio::test(start_paused = true)]
    async fn a_commit_update_waits_for_the_next_request_and_is_folded_into_it() {
        let (tx, mut s) = deferred(COMMIT_DELAY);
        tx.send(request(4, &[5], 4)).unwrap();
        assert_eq!(next_within(&mut s, Duration::ZERO).await, Some((4, 1, 4)));
        // Entry 5 committed: an update without entries, held back.
        tx.send(request(5, &[], 5)).unwrap();
        assert_eq!(next_within(&mut s, Duration::from_millis(1)).await, None);
        // Entry 6 comes: it carries commit 5, the held update is dropped.
        tx.send(request(5, &[6], 5)).unwrap();
        assert_eq!(next_within(&mut s, Duration::ZERO).await, Some((5, 1, 5)));
        assert_eq!(next_within(&mut s, COMMIT_DELAY * 2).await, None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_commit_update_goes_out_after_the_delay_when_nothing_else_comes() {
        let (tx, mut s) = deferred(COMMIT_DELAY);
        tx.send(request(4, &[5], 4)).unwrap();
        assert_eq!(next_within(&mut s, Duration::ZERO).await, Some((4, 1, 4)));
        tx.send(request(5, &[], 5)).unwrap();
        let before = tokio::time::Instant::now();
        assert_eq!(next_within(&mut s, COMMIT_DELAY * 2).await, Some((5, 0, 5)));
        assert_eq!(before.elapsed(), COMMIT_DELAY);
        // A later update replaces a held one but keeps its deadline.
        tx.send(request(5, &[], 5)).unwrap();
        assert_eq!(next_within(&mut s, COMMIT_DELAY / 2).await, None);
        tx.send(request(5, &[], 6)).unwrap();
        let before = tokio::time::Instant::now();
        assert_eq!(next_within(&mut s, COMMIT_DELAY * 2).await, Some((5, 0, 6)));
        assert!(
            before.elapsed() <= COMMIT_DELAY / 2,
            "{:?}",
            before.elapsed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn probes_and_entries_go_at_once_and_the_end_flushes_a_held_update() {
        let (tx, mut s) = deferred(COMMIT_DELAY);
        // The first request (a probe, no entries) is never held.
        tx.send(request(4, &[], 4)).unwrap();
        assert_eq!(next_within(&mut s, Duration::ZERO).await, Some((4, 0, 4)));
        // A request without entries after a different point is a probe too.
        tx.send(request(3, &[], 4)).unwrap();
        assert_eq!(next_within(&mut s, Duration::ZERO).await, Some((3, 0, 4)));
        tx.send(request(3, &[4], 4)).unwrap();
        assert_eq!(next_within(&mut s, Duration::ZERO).await, Some((3, 1, 4)));
        tx.send(request(4, &[], 5)).unwrap();
        drop(tx);
        assert_eq!(next_within(&mut s, Duration::ZERO).await, Some((4, 0, 5)));
        assert_eq!(next_within(&mut s, Duration::ZERO).await, None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_zero_delay_holds_nothing() {
        let (tx, mut s) = deferred(Duration::ZERO);
        tx.send(request(4, &[5], 4)).unwrap();
        tx.send(request(5, &[], 5)).unwrap();
        assert_eq!(next_within(&mut s, Duration::ZERO).await, Some((4, 1, 4)));
        assert_eq!(next_within(&mut s, Duration::ZERO).await, Some((5, 0, 5)));
    }
}
