//! TODO: storage
