//! Placeholder: the x adapter is being written.
