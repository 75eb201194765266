"""What the app and the CLI offer around the core: uploads as transactions, thumbs up/down, follow-up
questions, the users file and the activity log. The core (kb/*) imports none of them."""
