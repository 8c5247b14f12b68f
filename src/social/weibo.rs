//! Placeholder: the weibo adapter is being written.
