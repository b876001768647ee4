"""Converting temperatures between Celsius, Fahrenheit and Kelvin."""

ABSOLUTE_ZERO_C = -273.15


class Temperature:
    """A temperature, stored in degrees Celsius."""

    def __init__(self, celsius):
        if celsius < ABSOLUTE_ZERO_C:
            raise ValueError("below absolute zero")
        self.celsius = celsius

    @classmethod
    def from_fahrenheit(cls, fahrenheit):
        """The temperature that is `fahrenheit` degrees Fahrenheit."""
        return cls((fahrenheit - 32) * 5 / 9)

    @classmethod
    def from_kelvin(cls, kelvin):
        """The temperature that is `kelvin` kelvin."""
        return cls(kelvin + ABSOLUTE_ZERO_C)

    @property
    def fahrenheit(self):
        """This temperature in degrees Fahrenheit."""
        return self.celsius * 9 / 5 + 32

    @property
    def kelvin(self):
        """This temperature in kelvin."""
        return self.celsius - ABSOLUTE_ZERO_C

    def describe(self):
        """Freezing at or below 0 C, hot at or above 30 C, mild in between."""
        if self.celsius <= 0:
            return "freezing"
        if self.celsius >= 30:
            return "hot"
        return "mild"
