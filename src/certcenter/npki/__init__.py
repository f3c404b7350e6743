"""The joint certificate's files (공동인증서 파일), as every Korean certificate program reads them.

    folder = write_folder(root, certificate, key, "kb-Joint#2026", random_num=random_num)
    opened = open_certificate(root, certificate.subject, "kb-Joint#2026")
    pfx = export_pfx(certificate, key, "kb-Joint#2026", random_num=random_num)
    bundle = import_pfx(pfx, "kb-Joint#2026")

- :mod:`~certcenter.npki.password`: the certificate password rule (10+ characters, letters,
  digits and symbols);
- :mod:`~certcenter.npki.keyfile`: ``signPri.key``, encrypted PKCS#8 with SEED
  (``seedCBCWithSHA1`` and PBES2), the VID random value as a PKCS#8 attribute;
- :mod:`~certcenter.npki.folder`: ``NPKI/<CA>/USER/<subject>/signCert.der + signPri.key``;
- :mod:`~certcenter.npki.pkcs12`: ``.pfx`` export and import.

A library of files: no web framework, no database. The VID itself (the certificate's
identity extension) is :mod:`certcenter.pki.vid`. docs/npki.md describes the formats.
"""

from certcenter.npki.folder import (
    NpkiCertificate,
    find_folder,
    folder_name,
    list_folders,
    open_certificate,
    read_folder,
    write_folder,
)
from certcenter.npki.keyfile import KeyFileForm, NpkiKey, read_key_file, write_key_file
from certcenter.npki.password import check_new_password
from certcenter.npki.pkcs12 import (
    Pkcs12Bundle,
    export_folder_as_pfx,
    export_pfx,
    import_pfx,
    import_pfx_into_folder,
)

__all__ = [
    "KeyFileForm",
    "NpkiCertificate",
    "NpkiKey",
    "Pkcs12Bundle",
    "check_new_password",
    "export_folder_as_pfx",
    "export_pfx",
    "find_folder",
    "folder_name",
    "import_pfx",
    "import_pfx_into_folder",
    "list_folders",
    "open_certificate",
    "read_folder",
    "read_key_file",
    "write_folder",
    "write_key_file",
]
