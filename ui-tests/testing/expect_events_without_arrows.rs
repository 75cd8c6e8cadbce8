use supervisor::expect_events;
use supervisor::testing::TestKit;

async fn check(mut kit: TestKit) {
    expect_events!(kit, ["bot/feed", Started { attempt: 1 }]);
}

fn main() {}
