"""Identity proofing (본인확인): resident numbers, ID documents, phone numbers, and the
provider interfaces (telco, account, ID registry) with their refusal rules."""
