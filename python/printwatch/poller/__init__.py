"""What a poll asks a printer (plans) and how its raw answer is shaped for people and scripts."""
