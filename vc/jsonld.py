"""The JSON-LD context of our own terms, served by the issuer at
:data:`vc.credential.CONTEXT_PATH`.

Every term a document we publish uses is defined by the VC 2.0 base context, the Open
Badges 3.0.3 context or this one, so the documents expand with nothing dropped (a JSON-LD
processor in safe mode accepts them). The context only grows: a term once published keeps
its meaning, so credentials signed earlier still expand the same way.
"""

from __future__ import annotations

from typing import Any

#: Our vocabulary.
VOCAB = "https://botox-credentials.example/vocab#"
#: IANA's JWT claim registry, as the VC 2.0 base context names ``iss``, ``exp``, ``nbf``...
JWT_CLAIMS = "https://www.iana.org/assignments/jwt#"
#: The Open Badges vocabulary (its context names its classes there).
OB_VOCAB = "https://purl.imsglobal.org/spec/vc/ob/vocab.html#"
#: The ``refreshService`` type Open Badges 3.0 names (a GET on its ``id`` returns the
#: refreshed credential). The OB 3.0.3 context does not define it, so ours does.
REFRESH_TYPE = "1EdTechCredentialRefresh"
XSD_DATE = "https://www.w3.org/2001/XMLSchema#date"

CONTEXT_DOCUMENT: dict[str, Any] = {
    "@context": {
        "@protected": True,
        "bxc": VOCAB,
        # JWT claims carried in the payload: the base context defines iss, sub, iat, exp
        # and nbf, not jti.
        "jti": {"@id": JWT_CLAIMS + "jti", "@type": "@id"},
        REFRESH_TYPE: OB_VOCAB + REFRESH_TYPE,
        "givenName": "https://schema.org/givenName",
        "familyName": "https://schema.org/familyName",
        "profession": "bxc:profession",
        "professionName": "bxc:professionName",
        "license": {
            "@id": "bxc:license",
            "@context": {
                "jurisdiction": "bxc:jurisdiction",
                "number": "bxc:licenseNumber",
                "statusAtCheck": "bxc:licenseStatusAtCheck",
                "expiresOn": {"@id": "bxc:licenseExpiresOn", "@type": XSD_DATE},
                "checkedOn": {"@id": "bxc:licenseCheckedOn", "@type": XSD_DATE},
                "checkedSource": {"@id": "bxc:licenseCheckedSource", "@type": "@id"},
            },
        },
        "accreditation": {
            "@id": "bxc:accreditation",
            "@context": {
                "body": "bxc:accreditationBody",
                # The accrediting body's own reference (free text, not a URL).
                "identifier": "bxc:accreditationId",
                # Credentials signed before identifier existed named it ``id``; kept so
                # they expand as they always did.
                "id": "bxc:accreditationId",
            },
        },
        "trainingResults": {
            "@id": "bxc:trainingResults",
            "@context": {
                "didacticHours": "bxc:didacticHours",
                "didacticModules": "bxc:didacticModules",
                "handsOnHours": "bxc:handsOnHours",
                "supervisedInjections": "bxc:supervisedInjections",
                "liveModels": "bxc:liveModels",
                "writtenExam": "bxc:writtenExam",
                "practicalExam": "bxc:practicalExam",
                "passed": "bxc:passed",
                "date": "bxc:date",
                "examiner": "bxc:examiner",
            },
        },
    }
}
