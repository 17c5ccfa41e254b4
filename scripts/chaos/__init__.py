"""The chaos suite (issue 14): the real broker and the services as processes, faults applied
while a retrying referral client posts, and a verdict read from the topics and the receiver."""
