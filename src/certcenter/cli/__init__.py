"""The command line: operator commands, the demo, the simulators' views, and the app client
(``certcenter app``) that plays the bank's phone app."""
