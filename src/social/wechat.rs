//! Placeholder: the wechat adapter is being written.
