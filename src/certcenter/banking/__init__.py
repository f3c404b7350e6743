"""Internet banking (인터넷뱅킹) as the certificate center meets it: joining it online, for a
customer of the bank who has none yet (:mod:`.join`), and finding one's user ID
(아이디 찾기, :mod:`.find_id`). Both verify the customer on the financial certificate's
re-verification flow (:mod:`certcenter.financial.reverification`); the rules for a user ID and
a password are in :mod:`.credentials`.

    started = center.banking_join.start(name="박지훈", phone="01020000003",
                                        birth_date="1995-07-21", source_ip=ip)
    center.banking_join.verify_code(started.flow_id, started.token, "123456", source_ip=ip)
    center.banking_join.choose_medium(started.flow_id, started.token, "account", source_ip=ip)
    center.banking_join.complete(started.flow_id, started.token, answer,
                                 JoinChoice("jihun95", "Passw0rd!x", "Passw0rd!x", terms),
                                 source_ip=ip)
"""

from certcenter.banking.credentials import (
    check_new_password,
    check_user_id,
    mask_user_id,
)
from certcenter.banking.find_id import FIND_ID_PURPOSE, UserIdFinder
from certcenter.banking.join import JOIN_PURPOSE, InternetBankingJoin, JoinChoice

__all__ = [
    "FIND_ID_PURPOSE",
    "JOIN_PURPOSE",
    "InternetBankingJoin",
    "JoinChoice",
    "UserIdFinder",
    "check_new_password",
    "check_user_id",
    "mask_user_id",
]
