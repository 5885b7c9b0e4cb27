FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN SECRET_KEY=build-only python manage.py collectstatic --no-input
# var/media: the export files' volume, made here so that it belongs to crm.
RUN mkdir -p var/media && useradd --system --home /app crm && chown -R crm /app
USER crm
EXPOSE 8000
CMD ["gunicorn", "crm.wsgi", "--config", "gunicorn.conf.py"]
