"""Made-up but realistic residents for the demo city: Vietnamese names, ids, households."""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

from tools.demo_geo import point_near

HOME_SPREAD = 0.012  # degrees around the ward's centre: about 1.3 km

# Family names with rough shares in Vietnam (Nguyễn ~38 %).
FAMILY_NAMES = {
    "Nguyễn": 38, "Trần": 11, "Lê": 9.5, "Phạm": 7, "Hoàng": 5, "Phan": 4.5, "Vũ": 3.9,
    "Đặng": 2.1, "Bùi": 2, "Đỗ": 1.4, "Hồ": 1.3, "Ngô": 1.3, "Dương": 1, "Lý": 0.5,
    "Đinh": 0.8, "Trịnh": 0.7, "Đào": 0.6, "Mai": 0.5, "Tạ": 0.3, "Lương": 0.4, "Cao": 0.4,
}  # fmt: skip
MIDDLE = {
    ("M", False): ["Văn", "Đức", "Quang", "Minh", "Hữu", "Xuân", "Mạnh", "Thanh", "Công"],
    ("F", False): ["Thị", "Thị", "Thu", "Ngọc", "Thanh", "Kim", "Hồng", "Minh", "Phương"],
    ("M", True): ["Gia", "Minh", "Bảo", "Đức", "Anh", "Hoàng", "Nhật", "Quốc", "Đăng"],
    ("F", True): ["Ngọc", "Bảo", "Khánh", "Minh", "Gia", "Thảo", "Tuệ", "Hà", "Diệp"],
}
GIVEN = {
    "M": [
        "An", "Bình", "Cường", "Dũng", "Đức", "Hải", "Hiếu", "Hoàng", "Hùng", "Huy", "Khang",
        "Khoa", "Kiên", "Lâm", "Long", "Minh", "Nam", "Nghĩa", "Phong", "Phúc", "Quân",
        "Quang", "Sơn", "Tài", "Thắng", "Thành", "Trung", "Tuấn", "Tùng", "Việt", "Vinh", "Vũ",
        "Khôi", "Duy", "Đạt", "Hưng", "Lộc", "Nhân", "Thịnh", "Tiến",
    ],
    "F": [
        "Anh", "Chi", "Diệp", "Dung", "Giang", "Hà", "Hạnh", "Hằng", "Hiền", "Hoa", "Hương",
        "Huyền", "Lan", "Linh", "Mai", "My", "Nga", "Ngân", "Ngọc", "Nhung", "Oanh", "Phương",
        "Quỳnh", "Thảo", "Thu", "Trang", "Uyên", "Vân", "Vy", "Yến", "Trâm", "Nhi", "Hân",
        "Ánh", "Khuê", "Loan", "Thư", "Tâm",
    ],
}  # fmt: skip
PRIORITY_CATEGORIES = {
    "con_liet_si": 1, "con_thuong_binh": 2, "khuyet_tat": 3, "ho_ngheo": 4,
    "dan_toc_thieu_so": 2,
}  # fmt: skip
# Where a Hanoi resident's id was issued: mostly Hanoi (001), some born in other provinces.
BIRTH_PROVINCES = ["001"] * 17 + ["022", "024", "026", "030", "031", "033", "034", "035", "038"]


@dataclass(frozen=True)
class Person:
    """One register row."""

    citizen_id: str
    full_name: str
    date_of_birth: date
    gender: str
    ward_code: str
    household_id: str
    priority_category: str | None = None
    lat: float | None = None  # the residence's geocoded point
    lon: float | None = None

    def row(self) -> list[str]:
        """The CSV row, in the register's column order."""
        return [
            self.citizen_id,
            self.full_name,
            self.date_of_birth.isoformat(),
            self.gender,
            self.ward_code,
            self.household_id,
            self.priority_category or "",
            "" if self.lat is None else f"{self.lat:.6f}",
            "" if self.lon is None else f"{self.lon:.6f}",
        ]


class Population:
    """Makes households of residents with unique citizen and household ids, from one seed."""

    def __init__(self, rng: random.Random, year: int) -> None:
        self.rng = rng
        self.year = year
        self._families = list(FAMILY_NAMES)
        self._family_weights = list(FAMILY_NAMES.values())
        self._serials: dict[tuple[str, str, int], tuple[int, int]] = {}
        self._households = 0

    def citizen_id(self, born: date, gender: str) -> str:
        """A 12-digit id shaped like a CCCD: province, century+gender, birth year, serial."""
        province = self.rng.choice(BIRTH_PROVINCES)
        century_gender = (0 if born.year < 2000 else 2) + (gender == "F")
        bucket = (province, gender, born.year)
        count, offset = self._serials.get(bucket) or (0, self.rng.randrange(1_000_000))
        self._serials[bucket] = (count + 1, offset)
        # An affine walk through the 10^6 serials: unique within a bucket, looks random.
        serial = (count * 480_391 + offset) % 1_000_000
        return f"{province}{century_gender}{born.year % 100:02d}{serial:06d}"

    def full_name(self, gender: str, family: str | None = None, young: bool = False) -> str:
        """`<family> <middle> <given>`; children get the middle names parents pick today."""
        if family is None:
            family = self.rng.choices(self._families, self._family_weights)[0]
        middle = self.rng.choice(MIDDLE[(gender, young)])
        return f"{family} {middle} {self.rng.choice(GIVEN[gender])}"

    def birth_date(self, year: int) -> date:
        """A day in `year`."""
        return date(year, 1, 1) + timedelta(days=self.rng.randrange(365))

    def household(
        self, ward_code: str, child_years: list[int]
    ) -> tuple[list[Person], list[Person]]:
        """A household in `ward_code` with a child born in each of `child_years`.

        Returns (children, adults): one or two parents, sometimes grandparents.
        """
        rng = self.rng
        self._households += 1
        household_id = f"HN{self._households:010d}"
        home = point_near(ward_code, household_id, HOME_SPREAD)
        family = rng.choices(self._families, self._family_weights)[0]
        eldest = min(child_years)
        children = []
        for born_year in child_years:
            gender = rng.choice("MF")
            born = self.birth_date(born_year)
            priority = self._priority(0.03)
            name = self.full_name(gender, family, young=True)
            cid = self.citizen_id(born, gender)
            children.append(
                Person(cid, name, born, gender, ward_code, household_id, priority, *home)
            )
        adults = []
        parents = "MF" if rng.random() > 0.08 else rng.choice(["M", "F"])
        for gender in parents:
            born = self.birth_date(eldest - rng.randint(22, 38))
            name = self.full_name(gender, family if gender == "M" else None)
            cid = self.citizen_id(born, gender)
            adults.append(Person(cid, name, born, gender, ward_code, household_id, None, *home))
        if rng.random() < 0.25:
            for _ in range(rng.randint(1, 2)):
                gender = rng.choice("MF")
                born = self.birth_date(self.year - rng.randint(55, 85))
                name = self.full_name(gender)
                cid = self.citizen_id(born, gender)
                priority = self._priority(0.01)
                adults.append(
                    Person(cid, name, born, gender, ward_code, household_id, priority, *home)
                )
        return children, adults

    def _priority(self, share: float) -> str | None:
        if self.rng.random() >= share:
            return None
        return self.rng.choices(list(PRIORITY_CATEGORIES), list(PRIORITY_CATEGORIES.values()))[0]


def ascii_slug(name: str) -> str:
    """`Nguyễn Thị Bình` -> `nguyen.thi.binh`, for made-up e-mail addresses."""
    plain = unicodedata.normalize("NFD", name.replace("Đ", "D").replace("đ", "d"))
    letters = "".join(ch for ch in plain if not unicodedata.combining(ch))
    return ".".join(letters.lower().split())
