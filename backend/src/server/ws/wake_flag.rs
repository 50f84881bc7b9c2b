//! [`WakeFlag`]: a waker that remembers it was used. A connection polls the things that rarely
//! have anything to say (the viewer's requests, replies, timers, shutdown) with it, and looks at
//! them again only after one of them woke it. Owns that bookkeeping; knows nothing of sockets.
//!
//! Why: a connection is woken for every broadcast message. Polling the viewer's socket on each
//! wake-up costs a read attempt (WebSocket buffer set-up, readiness check) that almost never
//! finds anything: measured, it was the largest single cost of a connection's turn
//! (docs/bench-websocket.md).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Wake, Waker};

use futures_util::task::AtomicWaker;

/// Shared between a connection and the rare sources it polls with [`WakeFlag::waker`].
#[derive(Debug)]
pub(super) struct WakeFlag {
    /// Set when a rare source woke the task (and at the start: nothing has been polled yet).
    woken: AtomicBool,
    /// The connection's task, woken in turn.
    task: AtomicWaker,
}

impl WakeFlag {
    pub(super) fn new() -> Arc<Self> {
        Arc::new(WakeFlag {
            woken: AtomicBool::new(true),
            task: AtomicWaker::new(),
        })
    }

    /// Remember the task to wake (call at the start of every turn: a task's waker may change).
    pub(super) fn register(&self, cx: &Context<'_>) {
        self.task.register(cx.waker());
    }

    /// True (once) when a rare source has woken the task since the last call: poll them now.
    pub(super) fn take(&self) -> bool {
        self.woken.swap(false, Ordering::AcqRel)
    }

    /// Look at the rare sources again next turn (one of them may have more to give).
    pub(super) fn set(&self) {
        self.woken.store(true, Ordering::Release);
    }

    /// True when the rare sources are due a look.
    pub(super) fn is_set(&self) -> bool {
        self.woken.load(Ordering::Acquire)
    }

    /// The waker to poll the rare sources with.
    pub(super) fn waker(self: &Arc<Self>) -> Waker {
        Waker::from(self.clone())
    }
}

impl Wake for WakeFlag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.task.wake();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_rare_wake_sets_the_flag_and_wakes_the_task() {
        let flag = WakeFlag::new();
        assert!(flag.take(), "set at the start: nothing polled yet");
        assert!(!flag.take());
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let task = Waker::from(count.clone());
        flag.register(&Context::from_waker(&task));
        flag.waker().wake_by_ref();
        assert_eq!(count.0.load(Ordering::SeqCst), 1, "the task was woken");
        assert!(flag.is_set());
        assert!(flag.take());
        assert!(!flag.take(), "taken once");
        assert!(
            flag.waker().will_wake(&flag.waker()),
            "the same waker each turn: sources need not register again"
        );
    }
}
