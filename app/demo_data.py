"""Deterministic, realistic demo intake files.

The same seed always gives byte-identical files. Companies have domains, LinkedIn pages and
renewal months; each gets a handful of people, executives first (CEO, CFO, HR), with emails
and LinkedIn profiles. Employers are written the way real files write them — sometimes by
name with a different legal suffix, sometimes by website — so the identity matching has work
to do. A few rows are bad on purpose (about 1 %), so the demo shows quarantine at work.
"""

from __future__ import annotations

import csv
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

from loaders.intake import settings as intake_settings

PREFIXES = [
    "North",
    "Blue",
    "Bright",
    "Iron",
    "Silver",
    "Green",
    "Summit",
    "Harbor",
    "Pioneer",
    "Atlas",
    "Cedar",
    "Crest",
    "Delta",
    "Evergreen",
    "Falcon",
    "Granite",
    "Horizon",
    "Keystone",
    "Lumen",
    "Maple",
    "Nova",
    "Oak",
    "Orion",
    "Peak",
    "Quarry",
    "Redwood",
    "Sterling",
    "Tidal",
    "Vertex",
    "Willow",
    "Apex",
    "Beacon",
    "Cobalt",
    "Driftwood",
    "Ember",
    "Frontier",
    "Juniper",
    "Lakeside",
]
CORES = [
    "wind",
    "stone",
    "field",
    "bridge",
    "point",
    "gate",
    "line",
    "path",
    "works",
    "forge",
    "light",
    "wave",
    "ridge",
    "brook",
    "vale",
    "mark",
    "port",
    "view",
    "crest",
    "spring",
]
INDUSTRIES = [
    "Analytics",
    "Logistics",
    "Health",
    "Capital",
    "Software",
    "Foods",
    "Energy",
    "Robotics",
    "Insurance",
    "Media",
    "Labs",
    "Systems",
    "Partners",
    "Manufacturing",
    "Networks",
    "Biotech",
]
SUFFIXES = ["Inc", "Inc.", "LLC", "Corp", "Corporation", "Ltd", "GmbH", "Co.", ""]
CITIES = [
    ("Austin", "TX", "78701"),
    ("Denver", "CO", "80202"),
    ("Boston", "MA", "02110"),
    ("Chicago", "IL", "60601"),
    ("Seattle", "WA", "98101"),
    ("Atlanta", "GA", "30303"),
    ("Portland", "OR", "97204"),
    ("Columbus", "OH", "43215"),
    ("Raleigh", "NC", "27601"),
    ("Phoenix", "AZ", "85004"),
    ("Nashville", "TN", "37203"),
    ("Minneapolis", "MN", "55401"),
]
STREETS = ["Main St", "Market St", "Oak Ave", "Commerce Blvd", "Park Way", "River Rd", "5th Ave"]
FIRST = [
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Priya",
    "Wei",
    "Carlos",
    "Fatima",
    "Hiroshi",
    "Aisha",
    "Lukas",
    "Sofia",
    "Mateo",
    "Chloe",
    "Omar",
    "Elena",
    "Noah",
    "Amara",
    "Ravi",
    "Ingrid",
    "Diego",
    "Mei",
    "Kwame",
    "Zoe",
]
LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Patel",
    "Chen",
    "Nakamura",
    "Okafor",
    "Schmidt",
    "Rossi",
    "Kowalski",
    "Nguyen",
    "Haddad",
    "O'Brien",
    "Fischer",
    "Larsen",
    "Silva",
    "Kim",
    "Singh",
    "Dubois",
    "Novak",
    "Mensah",
]
EXEC_TITLES = {
    "CEO": ["Chief Executive Officer", "CEO", "Founder & CEO", "President", "Managing Director"],
    "CFO": [
        "Chief Financial Officer",
        "CFO",
        "VP of Finance",
        "Head of Finance",
        "Finance Director",
    ],
    "HR": [
        "Chief People Officer",
        "VP People",
        "Head of HR",
        "Director of Human Resources",
        "Chief Human Resources Officer",
        "Head of Talent",
    ],
}
OTHER_TITLES = [
    "Vice President of Sales",
    "VP Marketing",
    "Chief Technology Officer",
    "Director of Operations",
    "Senior Software Engineer",
    "Account Executive",
    "Marketing Manager",
    "Executive Assistant to the CEO",
    "Product Manager",
    "Sr. Data Analyst",
    "Head of Customer Success",
    "Controller",
    "Chief Operating Officer",
    "Engineering Manager",
    "Sales Development Representative",
]

# the intake contract's columns, plus one extra column (kept in raw, not fatal)
COMPANY_FIELDS = [*intake_settings.COMPANY_FIELDS, "industry"]
PEOPLE_FIELDS = list(intake_settings.PERSON_FIELDS)


@dataclass
class DemoFiles:
    companies: Path
    people: Path
    companies_rows: int
    people_rows: int
    bad_rows: int


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def generate(
    out_dir: Path, *, companies: int = 200, people: int = 1200, seed: int = 42
) -> DemoFiles:
    """Write companies.csv and people.jsonl into ``out_dir``; same seed, same bytes."""
    if companies < 1 or people < 0:
        raise ValueError("need at least one company and a non-negative number of people")
    rng = random.Random(seed)
    out_dir.mkdir(parents=True, exist_ok=True)

    company_rows: list[dict] = []
    used_names: set[str] = set()
    for i in range(companies):
        while True:
            base = f"{rng.choice(PREFIXES)}{rng.choice(CORES)} {rng.choice(INDUSTRIES)}"
            if base not in used_names:
                used_names.add(base)
                break
            base = f"{base} {i}"
            if base not in used_names:
                used_names.add(base)
                break
        suffix = rng.choice(SUFFIXES)
        name = f"{base} {suffix}".strip()
        domain = f"{_slug(base).replace('-', '')}.com"
        city, state, postal = rng.choice(CITIES)
        company_rows.append(
            {
                "company_name": name,
                "website_url": rng.choice([f"https://www.{domain}", f"https://{domain}/", domain]),
                "linkedin_url": f"https://www.linkedin.com/company/{_slug(base)}"
                if rng.random() < 0.9
                else "",
                "news_url": f"https://{domain}/news" if rng.random() < 0.6 else "",
                "ein": f"{rng.randint(10, 99)}-{rng.randint(1000000, 9999999)}",
                "address_line1": f"{rng.randint(1, 9999)} {rng.choice(STREETS)}",
                "address_line2": f"Suite {rng.randint(100, 999)}" if rng.random() < 0.3 else "",
                "city": city,
                "state_region": state,
                "postal_code": postal,
                "country": "US",
                "renewal_month": str(rng.randint(1, 12)),
                "renewal_notice_window_days": rng.choice(["", "", "90", "120", "150"]),
                "industry": base.split()[-1],
                "_base": base,
                "_domain": domain,
            }
        )

    people_rows: list[dict] = []
    seen_profiles: set[str] = set()
    for i in range(people):
        company = company_rows[i % companies] if i < companies * 3 else rng.choice(company_rows)
        slot_round = i // companies  # the first three people of each company are its executives
        if slot_round < 3 and rng.random() < 0.85:
            title = rng.choice(EXEC_TITLES[["CEO", "CFO", "HR"][slot_round]])
        else:
            title = rng.choice(OTHER_TITLES)
        first, last = rng.choice(FIRST), rng.choice(LAST)
        handle = f"{_slug(first)}-{_slug(last)}-{rng.randint(1000, 99999)}"
        while handle in seen_profiles:
            handle = f"{handle}{rng.randint(0, 9)}"
        seen_profiles.add(handle)
        employer_style = rng.random()
        row = {
            "full_name": f"{first} {last}",
            "title": title,
            "email": f"{_slug(first)}.{_slug(last).replace('-', '')}@{company['_domain']}",
            "phone": f"+1-{rng.randint(200, 989)}-555-{rng.randint(1000, 9999)}",
            "linkedin_url": rng.choice(
                [f"https://www.linkedin.com/in/{handle}", f"https://linkedin.com/in/{handle}/"]
            ),
            "company_name": "",
            "company_website": "",
            "company_linkedin_url": "",
        }
        if employer_style < 0.5:
            # by name, often with a different legal suffix than the company file uses
            row["company_name"] = f"{company['_base']} {rng.choice(SUFFIXES)}".strip()
        elif employer_style < 0.8 or not company["linkedin_url"]:
            row["company_website"] = f"http://{company['_domain']}"
        else:
            row["company_linkedin_url"] = company["linkedin_url"] + "/"
        people_rows.append(row)

    bad = 0
    # About 1 % bad rows, each kind at least once: the quarantine shows them with reasons.
    n_bad = max(1, people // 100)
    for k in range(n_bad):
        row = people_rows[rng.randrange(len(people_rows))] if people_rows else None
        if row is None:
            break
        kind = k % 4
        if kind == 0:
            row["email"] = row["email"].replace("@", " at ")
        elif kind == 1:
            row["full_name"] = ""
        elif kind == 2:
            row.update(
                company_name="Nonexistent Holdings Ltd", company_website="", company_linkedin_url=""
            )
        else:
            row["linkedin_url"] = "linkedin profile pending"
        bad += 1
    for k in range(max(1, companies // 100)):
        row = company_rows[rng.randrange(len(company_rows))]
        if k % 2 == 0:
            row["renewal_month"] = "13"
        else:
            row["website_url"] = "not a website"
        bad += 1

    companies_path = out_dir / "companies.csv"
    with companies_path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COMPANY_FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(company_rows)
    people_path = out_dir / "people.jsonl"
    with people_path.open("w", encoding="utf-8") as fh:
        for row in people_rows:
            fh.write(json.dumps({k: v for k, v in row.items() if v != ""}, sort_keys=True) + "\n")
    return DemoFiles(companies_path, people_path, len(company_rows), len(people_rows), bad)
