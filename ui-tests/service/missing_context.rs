// No parameters at all: the error is on the parameter list.
use supervisor::service;

#[service]
async fn feed() {}

fn main() {}
