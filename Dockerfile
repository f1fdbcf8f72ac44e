# One image for the gateway, the three services and the migrations; the command picks the role.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml ./
COPY shared ./shared
COPY services ./services
COPY gateway ./gateway
COPY tools ./tools
COPY bench ./bench
RUN pip install --no-cache-dir .
USER nobody
